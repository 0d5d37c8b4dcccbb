using Jit.Devices.Pci;
using Jit.Devices.Virtio;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Pci;
using Jit.Hypervisor.Toolstack;
using Jit.Runtime.Memory;

namespace Jit.Hypervisor.Tests.Toolstack;

/// <summary>
/// PCI device assignment in one process: the host's devices given to the control domain, made assignable, assigned
/// by xl.cfg's <c>pci</c> and by <c>xl pci-attach</c>, detached, and returned reset when their domain is destroyed,
/// with the device's DMA following its owner. The domains run a bare-metal guest that waits in WFI; the test
/// plays their PCI driver through their bridges' ECAM.
/// </summary>
public sealed class PciAssignmentTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("jit-pci-").FullName;
    private readonly Host host;
    private readonly XlVerbs xl;

    public PciAssignmentTests()
    {
        host = new Host(Path.Combine(folder, "console"));
        Directory.CreateDirectory(host.ConsoleFolder);
        xl = new XlVerbs(host, new StateFolder(folder), new HostLimits(8, 2, 4096));
        foreach (var (name, iface) in new[] { ("a.img", DiskInterface.Virtio), ("b.img", DiskInterface.Nvme) })
        {
            string path = Path.Combine(folder, name);
            File.WriteAllBytes(path, new byte[1 << 20]);
            host.PciDevices.Add(new LinuxDisk(path, ReadOnly: false, Interface: iface));
        }
    }

    public void Dispose()
    {
        host.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    private static readonly PciAddress Virtio = new(0, 1, 0, 0), Nvme = new(0, 1, 1, 0);

    private string Probe => TestProcess.Guest("isolation", "sys-isolation-probe.elf");

    private DomainConfig Config(string name) => new()
    {
        Source = "test", Name = name, Kernel = Probe, MemoryMiB = 64, MaxMemoryMiB = 64, Vcpus = 1,
    };

    private string WriteConfig(string name, params string[] lines)
    {
        string path = Path.Combine(folder, name + ".cfg");
        File.WriteAllLines(path, [$"name = \"{name}\"", $"kernel = \"{Probe}\"", "memory = 64", .. lines]);
        return path;
    }

    private (int Exit, string Stdout, string Stderr) Xl(params string[] argv)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = xl.Execute(argv, folder, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static PciHostBridge Bridge(HostedDomain d) => ((LinuxMachine)d.Machine).Pci;

    private static uint ConfigRead(HostedDomain d, int slot, int register)
    {
        Assert.True(Bridge(d).Read((ulong)slot << 15 | (uint)register, 4, out ulong value));
        return (uint)value;
    }

    private static void ConfigWrite(HostedDomain d, int slot, int register, ushort value) =>
        Assert.True(Bridge(d).Write((ulong)slot << 15 | (uint)register, 2, value));

    [Fact]
    public void TheControlDomainHasTheHostsDevicesUntilTheyAreMadeAssignable()
    {
        var dom0 = host.Create(Config("Domain-0"), control: true, allHostPciDevices: true);
        Assert.Equal(0x1042_1AF4u, ConfigRead(dom0, 1, 0));           // virtio-blk at 00:01.0
        Assert.Equal(0x4E56_1AB8u, ConfigRead(dom0, 2, 0));           // the NVMe controller at 00:02.0
        Assert.Equal("", Xl("pci-assignable-list").Stdout);

        // Its driver still has the device enabled: taken anyway, and said so.
        ConfigWrite(dom0, 1, PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster);
        var add = Xl("pci-assignable-add", "01:00.0");
        Assert.Equal(0, add.Exit);
        Assert.Contains("0000:01:00.0 was still in use in the control domain (bus mastering on", add.Stderr);
        Assert.Contains("taken anyway", add.Stderr);
        Assert.Equal(0xFFFF_FFFFu, ConfigRead(dom0, 1, 0));
        Assert.Equal("0000:01:00.0\n", Xl("pci-assignable-list").Stdout);
        Assert.Equal(1, host.PciDevices.Find(Virtio)!.Resets);
        Assert.False(host.PciDevices.Find(Virtio)!.Function.BusMasterEnabled);

        // Removed by its Linux first: no warning.
        var quiet = Xl("pci-assignable-add", "0000:01:01.0");
        Assert.Equal((0, ""), (quiet.Exit, quiet.Stderr));
        Assert.Equal("0000:01:00.0\n0000:01:01.0\n", Xl("pci-assignable-list").Stdout);

        // pci-assignable-remove gives it back to the control domain, at its first free device number.
        Assert.Equal(0, Xl("pci-assignable-remove", "01:01.0").Exit);
        Assert.Equal("Vdev Device\n01.0 0000:01:01.0\n", Xl("pci-list", "Domain-0").Stdout);
        Assert.Equal("0000:01:00.0\n", Xl("pci-assignable-list").Stdout);
    }

    [Fact]
    public void XlCfgPciAssignsAtCreateAndRefusesADeviceThatIsNotAssignableInOneLine()
    {
        var dom0 = host.Create(Config("Domain-0"), control: true, allHostPciDevices: true);
        Assert.Equal(0, Xl("pci-assignable-add", "01:00.0").Exit);

        var refused = Xl("create", WriteConfig("other", "pci = [ '01:01.0' ]"));
        Assert.Equal(1, refused.Exit);
        string line = refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        Assert.Equal($"{Path.Combine(folder, "other.cfg")}:4: pci: 0000:01:01.0 is not assignable: the control domain has it " +
                     "(xl pci-assignable-add 0000:01:01.0, or seize=1)", line);
        Assert.Null(host.Find("other"));

        var unknown = Xl("create", WriteConfig("unknown", "pci = [ '01:07.0' ]"));
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("pci: 0000:01:07.0 is not a PCI device of this host (0000:01:00.0, 0000:01:01.0)", unknown.Stderr);

        var created = Xl("create", WriteConfig("guest", "pci = [ '0000:01:00.0@05' ]"));
        Assert.True(created.Exit == 0, created.Stderr);
        var guest = host.Find("guest")!;
        Assert.Equal(0x1042_1AF4u, ConfigRead(guest, 5, 0));
        Assert.Equal("Vdev Device\n05.0 0000:01:00.0\n", Xl("pci-list", "guest").Stdout);
        Assert.Equal("", Xl("pci-assignable-list").Stdout);

        var twice = Xl("create", WriteConfig("twice", "pci = [ '01:00.0' ]"));
        Assert.Contains($"pci: 0000:01:00.0 is already assigned to domain {guest.DomId} (guest)", twice.Stderr);

        // seize=1 takes a device from the control domain, as xl does.
        var seized = Xl("create", WriteConfig("seizer", "pci = [ '01:01.0,seize=1' ]"));
        Assert.True(seized.Exit == 0, seized.Stderr);
        Assert.Equal(0xFFFF_FFFFu, ConfigRead(dom0, 2, 0));
        Assert.Equal("Vdev Device\n01.0 0000:01:01.0\n", Xl("pci-list", "seizer").Stdout);
    }

    [Fact]
    public void DetachAttachAndDestroyMoveTheDeviceAndItsDmaNeverReachesAPreviousOwner()
    {
        var a = host.Create(Config("a"));
        var b = host.Create(Config("b"));
        var device = host.PciDevices.Find(Virtio)!;
        Assert.Equal(0, Xl("pci-attach", "a", "01:00.0").Exit);
        ConfigWrite(a, 1, PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster);
        Assert.Equal(0x1042_1AF4u, ConfigRead(a, 1, 0));

        // The device's DMA lands in A's RAM (A's SMMU is not enabled by its guest: bypass to A's p2m).
        const ulong Ipa = 0x4300_0000;
        Assert.Equal(GuestMemoryStatus.Ok, device.Dma.Write(Ipa, "from-a"u8));
        Assert.Equal("from-a"u8.ToArray(), Read(a, Ipa, 6));
        // Nor outside it: MMIO or a hole is refused.
        Assert.NotEqual(GuestMemoryStatus.Ok, device.Dma.Write(0x2200_0000, "uart"u8));

        var busy = Xl("pci-attach", "b", "01:00.0");
        Assert.Equal((1, "xl pci-attach: 0000:01:00.0 is already assigned to domain 1 (a)\n"), (busy.Exit, busy.Stderr));

        // A removes it (command register cleared, as Linux's remove does), xl detaches it: reset, in the pool.
        ConfigWrite(a, 1, PciFunction.CommandRegister, 0);
        var detach = Xl("pci-detach", "a", "01:00.0");
        Assert.Equal((0, ""), (detach.Exit, detach.Stderr));
        Assert.Equal(0xFFFF_FFFFu, ConfigRead(a, 1, 0));
        Assert.Equal(GuestMemoryStatus.NotMapped, device.Dma.Write(Ipa, "stale!"u8));

        Assert.Equal(0, Xl("pci-attach", "b", "01:00.0@03").Exit);
        ConfigWrite(b, 3, PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster);
        Assert.Equal(GuestMemoryStatus.Ok, device.Dma.Write(Ipa, "from-b"u8));
        Assert.Equal("from-b"u8.ToArray(), Read(b, Ipa, 6));
        Assert.Equal("from-a"u8.ToArray(), Read(a, Ipa, 6));

        // Destroying B returns it to the pool, reset: the virtio device forgot its driver, the header its enables.
        int resets = device.Resets;
        Assert.Equal(0, Xl("destroy", "b").Exit);
        Assert.Equal("0000:01:00.0\n0000:01:01.0\n", Xl("pci-assignable-list").Stdout);
        Assert.Null(device.Owner);
        Assert.Equal(resets + 1, device.Resets);
        Assert.Equal(0u, device.Function.ReadConfig(PciFunction.CommandRegister, 2));
        Assert.Equal(0, ((VirtioPciFunction)device.Function).Status);
        Assert.Equal(GuestMemoryStatus.NotMapped, device.Dma.Write(Ipa, "after!"u8));
        Assert.Equal("from-a"u8.ToArray(), Read(a, Ipa, 6));
    }

    [Fact]
    public void BadArgumentsAreOneLineEach()
    {
        Assert.Equal("xl pci-assignable-add: \"1:2:3:4\" is not a PCI address [DDDD:]BB:SS.F (hexadecimal, e.g. 01:00.0)\n",
            Xl("pci-assignable-add", "1:2:3:4").Stderr);
        host.Create(Config("a"));
        Assert.Equal("xl pci-attach: permissive= is not supported here (bdf, vslot and seize are)\n",
            Xl("pci-attach", "a", "01:00.0,permissive=1").Stderr);
        var none = Xl("pci-assignable-remove", "01:00.0");
        Assert.Equal((1, "xl pci-assignable-remove: there is no control domain to give it back to\n"), (none.Exit, none.Stderr));
        Assert.Equal(2, Xl("pci-detach", "a").Exit);
    }

    private static byte[] Read(HostedDomain d, ulong ipa, int length)
    {
        var bytes = new byte[length];
        Assert.Equal(GuestMemoryStatus.Ok, d.Domain.GuestMemory.Read(ipa, bytes));
        return bytes;
    }
}
