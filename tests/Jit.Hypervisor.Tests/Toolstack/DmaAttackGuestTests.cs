using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Pci;
using Jit.Hypervisor.Toolstack;
using Xunit.Abstractions;

namespace Jit.Hypervisor.Tests.Toolstack;

/// <summary>
/// guests/sys/dmaattack in a domU that owns an assigned virtio-blk device, on one host beside sys-isolation-fill:
/// every hostile DMA of the attacker is refused with its stage 2 record (the guest checks its own event queue),
/// its 10^5 random attempts each complete or end in a reset, the neighbour's RAM pattern stays intact, no LPI
/// reaches the neighbour, and both domains destroy cleanly.
/// </summary>
public sealed class DmaAttackGuestTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string folder = Directory.CreateTempSubdirectory("jit-dmaattack-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static DomainConfig Config(string name, string kernel, string? cmdline = null, params XlPciSpec[] pci) => new()
    {
        Source = "test", Name = name, Kernel = kernel, Cmdline = cmdline, MemoryMiB = 64, MaxMemoryMiB = 64, Vcpus = 1,
        OnPoweroff = ShutdownAction.Preserve, OnCrash = ShutdownAction.Preserve, Pci = pci,
    };

    private string ConsoleOf(Host host, string name)
    {
        string path = Path.Combine(host.ConsoleFolder, $"guest-{name}.log");
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    private string WaitFor(Host host, string name, string what, int count = 1)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            string text = ConsoleOf(host, name);
            if (CountOf(text, what) >= count) return text;
            Thread.Sleep(100);
        }
        Assert.Fail($"{name} did not print \"{what}\" {count} time(s) within {Patience.TotalSeconds} s:\n{ConsoleOf(host, name)}");
        return "";
    }

    private static int CountOf(string text, string what) => text.Split(what).Length - 1;

    [Fact]
    public void EveryHostileDmaIsRefusedAndRecordedAndTheNeighbourIsUntouched()
    {
        string attackElf = TestProcess.Guest("dmaattack", "sys-dmaattack.elf");
        string fillElf = TestProcess.Guest("isolation", "sys-isolation-fill.elf");
        var log = new List<string>();
        using (var host = new Host(Path.Combine(folder, "console")))
        {
            Directory.CreateDirectory(host.ConsoleFolder);
            host.Logged += line => { lock (log) log.Add(line); };
            string image = Path.Combine(folder, "disk.img");
            File.WriteAllBytes(image, new byte[1 << 20]);
            var device = host.PciDevices.Add(new LinuxDisk(image, ReadOnly: false, Interface: DiskInterface.Virtio));

            var fill = host.Create(Config("fill", fillElf));
            WaitFor(host, "fill", "filled");
            var attacker = host.Create(Config("attack", attackElf, "dmaattack.seed=7 dmaattack.n=100000",
                new XlPciSpec(device.Address, VirtualSlot: 1, Seize: false, new ConfigOrigin("test", 1))));
            var fillIts = ((LinuxMachine)fill.Machine).Its;

            string text = WaitFor(host, "attack", "DMAATTACK-DONE");
            foreach (string line in text.Split('\n').Where(l => l.StartsWith("DMAATTACK", StringComparison.Ordinal) || l.Contains("FAIL")))
                output.WriteLine(line);
            Assert.Contains("DMAATTACK-SUMMARY", text);
            Assert.Contains("DMAATTACK-DONE result=ok", text);
            Assert.Contains(" lost=0 ", text);
            Assert.DoesNotContain("FAIL", text);

            // The neighbour checks its pattern once a second: twice more after the attack, intact every time.
            int rounds = CountOf(ConsoleOf(host, "fill"), "round ");
            string fillText = WaitFor(host, "fill", "round ", rounds + 2);
            Assert.Contains("intact", fillText);
            Assert.DoesNotContain("CHANGED", fillText);
            // No MSI of the attacker's, forged or not, reached the neighbour's ITS; the attacker's own did.
            Assert.Equal(0, fillIts.MessagesReceived);
            Assert.True(((LinuxMachine)attacker.Machine).Its.MessagesReceived > 0);

            Assert.True(host.Destroy(attacker));
            Assert.True(host.Destroy(fill));
            Assert.Null(device.Owner);
        }
        lock (log)
        {
            foreach (string line in log) output.WriteLine(line);
            Assert.DoesNotContain(log, l => l.Contains("crashed"));
            Assert.Contains(log, l => l.Contains("(attack): powered off"));
        }
    }
}
