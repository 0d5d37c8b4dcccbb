using Jit.Devices.Gic;
using Jit.Devices.Gic.Its;
using Jit.Devices.Pci;
using Jit.Devices.Rtc;
using Jit.Devices.Storage;
using Jit.Devices.Uart;
using Jit.Devices.Virtio;
using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Runtime.Timers;
using static Jit.Hypervisor.Builder.GuestMemoryMap;

namespace Jit.Hypervisor.Builder;

/// <summary>What <c>jit run --kernel</c> and <c>jit boot</c> ask for.</summary>
/// <param name="IcountShift">Instruction-count time (<c>--icount</c>) at 2^shift ns per instruction, or null for host time.</param>
/// <param name="Disks">Disk images, each a virtio-blk function on bus 0 from device 1 on, in this order.</param>
/// <param name="Entropy">A virtio-rng function, on bus 0 after the disks.</param>
public sealed record LinuxOptions(string Kernel, string? Initrd, string BootArgs, ulong RamSize, int Cpus, string? DeviceTree = null,
    int? IcountShift = null, IReadOnlyList<LinuxDisk>? Disks = null, bool Entropy = false, bool SbsaUart = false);

/// <summary>A disk image file given to a Linux domain, opened read-only or read-write.</summary>
public sealed record LinuxDisk(string Path, bool ReadOnly, DiskFormat Format = DiskFormat.Raw);

/// <summary>
/// The platform of the design for a Linux guest: RAM bank 0, a GICv3 with a redistributor per vCPU and an ITS,
/// the generic timers on PPIs 27/30, the PL011 console on SPI 32, the PL031 on SPI 33, PSCI over HVC, and a
/// PCIe host bridge (INTx on SPIs 34–37, MSIs through the ITS) carrying the domain's virtio devices. The domain
/// builder loads the kernel at its Image placement, the initramfs and the device tree at the top of RAM, and
/// enters the kernel on vCPU 0 with X0 = the device tree's address (booting.rst).
/// </summary>
public sealed class LinuxMachine : Machine
{
    public const ulong MinRamSize = 64UL << 20;

    /// <summary>Devices 1 to 31 of bus 0: the disks and virtio-rng together.</summary>
    public const int MaxPciDevices = 31;

    private readonly IReadOnlyList<IBlockImage> disks;

    private LinuxMachine(Domain domain, Pl011 uart, GicV3 gic, GicIts its, PciHostBridge pci, IReadOnlyList<IBlockImage> disks, Pl031 rtc,
        byte[] deviceTree, LoadedKernel kernel) : base(domain, uart)
    {
        Gic = gic;
        Its = its;
        Pci = pci;
        this.disks = disks;
        Rtc = rtc;
        DeviceTree = deviceTree;
        Kernel = kernel;
    }

    public GicV3 Gic { get; }
    public GicIts Its { get; }
    public PciHostBridge Pci { get; }
    public Pl031 Rtc { get; }
    public byte[] DeviceTree { get; }
    public LoadedKernel Kernel { get; }

    /// <summary>The device tree a domain with these options gets (for <c>jit dtb</c> and --dtb-out).</summary>
    public static byte[] DescribePlatform(LinuxOptions o, (ulong Start, ulong End)? initrd)
    {
        var (kaslr, rng) = BootEntropy(reproducible: o.IcountShift is not null);
        return PlatformDeviceTree.Build(new PlatformDescription([(Ram0Base, o.RamSize)], o.Cpus, o.BootArgs, initrd, kaslr, rng,
            GicIts.DeviceTreeNodeAt(GitsBase), HostBridge, o.SbsaUart));
    }

    /// <summary>virtio-rng's seed in instruction-count time (any fixed value would do).</summary>
    public const ulong IcountEntropySeed = 0x4A49_545F_5652_4E47;

    /// <summary>
    /// The seeds a boot loader hands the kernel. In instruction-count time they are fixed: they feed the random
    /// pool, and through it KASLR and the address-space layout of every process, which change the instructions
    /// a boot executes.
    /// </summary>
    private static (ulong Kaslr, byte[] Rng) BootEntropy(bool reproducible)
    {
        if (!reproducible)
            return (BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)),
                System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        byte[] kaslr = System.Security.Cryptography.SHA256.HashData("jit icount kaslr-seed"u8);
        return (BitConverter.ToUInt64(kaslr), System.Security.Cryptography.SHA256.HashData("jit icount rng-seed"u8));
    }

    /// <summary>The RTC's time at power-on in instruction-count time: 2025-01-01 00:00:00 UTC.</summary>
    public const long IcountRtcStart = 1_735_689_600;

    /// <summary>
    /// The PL031's seconds: the host's UTC clock, or in instruction-count time <see cref="IcountRtcStart"/>
    /// advanced by the system counter. Not the host's time at start: the kernel mixes the time it reads into
    /// its random pool and formats it into its log, so a different start second changes the instructions the
    /// boot retires.
    /// </summary>
    private static Pl031 CreateRtc(SystemCounter counter)
    {
        if (counter is not InstructionCounter) return new Pl031();
        return new Pl031(() => IcountRtcStart + (long)(counter.Now / CpuModel.CounterFrequency), counter);
    }

    /// <param name="domid">The domain's ID on its host; 0, the control domain, for <c>jit run</c>.</param>
    /// <param name="name">The domain's name; the kernel's file name by default.</param>
    public static LinuxMachine Create(LinuxOptions o, Stream console, int domid = 0, string? name = null)
    {
        if (o.RamSize < MinRamSize || o.RamSize > Ram0MaxSize || o.RamSize % 4096 != 0)
            throw new ArgumentOutOfRangeException(nameof(o), $"RAM must be a multiple of 4K between 64M and 3G");
        if (o.Cpus is < 1 or > VcpuTopology.MaxVcpus) throw new ArgumentOutOfRangeException(nameof(o), $"1 to {VcpuTopology.MaxVcpus} vCPUs");
        if (o.IcountShift is not null && o.Cpus != 1) throw new ArgumentOutOfRangeException(nameof(o), "instruction-count time runs one vCPU");
        if ((o.Disks?.Count ?? 0) + (o.Entropy ? 1 : 0) > MaxPciDevices)
            throw new ArgumentOutOfRangeException(nameof(o), $"at most {MaxPciDevices} PCI devices (disks and virtio-rng)");
        var domain = new Domain(name ?? Path.GetFileName(o.Kernel), o.IcountShift is int shift ? new InstructionCounter(shift) : null, domid);
        var disks = new List<IBlockImage>();
        try
        {
            domain.Memory.AddRam(Ram0Base, o.RamSize);
            var kernel = LinuxImage.Load(o.Kernel, domain.Memory, Ram0Base, o.RamSize);

            // The device tree goes in the last 2 MiB of RAM (booting.rst: 8-byte aligned, at most 2 MiB, within
            // one 2 MiB region), the initramfs right below it.
            ulong ramEnd = Ram0Base + o.RamSize;
            ulong dtbBase = ramEnd - (2UL << 20);
            (ulong, ulong)? initrd = null;
            if (o.Initrd is not null)
            {
                byte[] image = LinuxImage.ReadInitramfs(o.Initrd, dtbBase - kernel.End);
                ulong start = (dtbBase - (ulong)image.Length) & ~0xFFFUL;
                if (start < kernel.End) throw new ImageError(o.Initrd, "does not fit in RAM beside the kernel; give the guest more memory (--mem)");
                domain.Memory.Write(start, image);
                initrd = (start, start + (ulong)image.Length);
            }
            byte[] dtb = o.DeviceTree is not null ? LinuxImage.ReadDeviceTree(o.DeviceTree) : DescribePlatform(o, initrd);
            domain.Memory.Write(dtbBase, dtb);

            var gic = new GicV3(o.Cpus, domain.GuestMemory);
            domain.Mmio.Register(GicdBase, gic.Distributor);
            domain.Mmio.Register(GicrBase, gic.Redistributors);
            var its = new GicIts(gic, domain.GuestMemory, GitsBase);
            domain.Mmio.Register(GitsBase, its);
            var pci = new PciHostBridge(HostBridge, its, [.. HostBridge.IntxSpis.Select(spi => gic.SpiLine((int)spi))]);
            domain.Mmio.Register(HostBridge.EcamBase, pci);
            foreach (var window in pci.MemoryWindows) domain.Mmio.Register(window.Window.CpuBase, window);
            AttachPciDevices(o, pci, domain.GuestMemory, disks);
            var uart = new Pl011(console) { Interrupt = gic.SpiLine(Pl011Spi) };
            domain.Mmio.Register(Pl011Base, o.SbsaUart ? new SbsaUart(uart) : uart);
            var rtc = CreateRtc(domain.Counter);
            rtc.Interrupt = gic.SpiLine(Pl031Spi);
            domain.Mmio.Register(Pl031Base, rtc);

            for (int i = 0; i < o.Cpus; i++)
            {
                var v = domain.AddVcpu();
                gic.ConnectCpu(i, v.IrqInput);
                v.ConnectGic(gic.CpuInterface(i));
                v.Processor.Timer.VirtualLine = gic.PpiLine(i, VirtualTimerPpi);
                v.Processor.Timer.PhysicalLine = gic.PpiLine(i, PhysicalTimerPpi);
            }
            var boot = domain.Vcpus[0];
            boot.Reset(kernel.Entry);
            unsafe { boot.State->X[0] = dtbBase; }
            return new LinuxMachine(domain, uart, gic, its, pci, disks, rtc, dtb, kernel);
        }
        catch
        {
            foreach (var d in disks) d.Dispose();
            domain.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The options' PCI devices on bus 0, function 0 of devices 1, 2, …: the disks in order, then virtio-rng.
    /// Device 0 stays empty, as on a host bridge whose own header Linux's generic driver does not need.
    /// </summary>
    /// <exception cref="DiskImageException">A disk image cannot be opened; the ones opened so far are in <paramref name="disks"/>.</exception>
    private static void AttachPciDevices(LinuxOptions o, PciHostBridge pci, IDmaPort dma, List<IBlockImage> disks)
    {
        int device = 1;
        foreach (var disk in o.Disks ?? [])
        {
            var image = DiskImage.Open(disk.Path, disk.Format, disk.ReadOnly);
            disks.Add(image);
            pci.Register(0, device++, 0, new VirtioPciFunction(new VirtioBlock(image), dma));
        }
        if (o.Entropy)
        {
            // In instruction-count time a fixed stream: the pool it feeds shapes the rest of the run.
            IEntropySource source = o.IcountShift is null ? new HostEntropy() : new SeededEntropy(IcountEntropySeed);
            pci.Register(0, device, 0, new VirtioPciFunction(new VirtioEntropy(source), dma));
        }
    }

    public override void Dispose()
    {
        Rtc.Dispose();
        foreach (var v in Domain.Vcpus) v.Processor.Timer.Dispose();
        base.Dispose();
        // After the vCPUs are gone, so no request is in flight; disposing flushes each image to its file.
        foreach (var d in disks) d.Dispose();
    }
}
