using Jit.Devices.Gic;
using Jit.Devices.Gic.Its;
using Jit.Devices.Nvme;
using Jit.Hypervisor.Network;
using Jit.Devices.Pci;
using Jit.Devices.Rtc;
using Jit.Devices.Smmu;
using Jit.Devices.Storage;
using Jit.Devices.Uart;
using Jit.Devices.Virtio;
using Jit.Hypervisor.Platform;
using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Runtime.Timers;
using static Jit.Hypervisor.Builder.GuestMemoryMap;

namespace Jit.Hypervisor.Builder;

/// <summary>What <c>jit run --kernel</c> and <c>jit boot</c> ask for.</summary>
/// <param name="IcountShift">Instruction-count time (<c>--icount</c>) at 2^shift ns per instruction, or null for host time.</param>
/// <param name="Disks">Disk images, each a virtio-blk function on bus 0 from device 1 on, in this order.</param>
/// <param name="Entropy">A virtio-rng function, on bus 0 after the disks.</param>
/// <param name="Nics">Network interfaces, each a virtio-net function on bus 0 after virtio-rng.</param>
/// <param name="Tee">The domain's TEE, which the device tree announces (the caller attaches the mediator).</param>
/// <param name="DeviceTree">A whole device tree that replaces the generated one (<c>--dtb</c>, xl.cfg's <c>jit_dtb</c>).</param>
/// <param name="PartialDeviceTree">xl.cfg's <c>device_tree</c>: its /passthrough and /aliases join the generated tree.</param>
/// <param name="Smmu">An SMMUv3 in front of the PCIe bridge (<c>--smmu</c>, xl.cfg's <c>jit_smmu</c>; <see cref="DefaultSmmu"/> unless said): every function's DMA and MSIs go through its stream.</param>
public sealed record LinuxOptions(string Kernel, string? Initrd, string BootArgs, ulong RamSize, int Cpus, string? DeviceTree = null,
    int? IcountShift = null, IReadOnlyList<LinuxDisk>? Disks = null, bool Entropy = false, bool SbsaUart = false,
    string? PartialDeviceTree = null, IReadOnlyList<NicSpec>? Nics = null, Jit.Hypervisor.Config.TeeKind Tee = Jit.Hypervisor.Config.TeeKind.None,
    bool Smmu = LinuxOptions.DefaultSmmu)
{
    /// <summary>
    /// Every Linux domain's DMA goes through an SMMU unless its configuration says otherwise: Linux boots with it
    /// and probing it costs the perf gates' boot 0.09% of its instructions, within their tolerance. Devices pay
    /// per DMA mapping, which README's figures give.
    /// </summary>
    public const bool DefaultSmmu = true;

    /// <summary>How many functions the options put on bus 0.</summary>
    public int PciDeviceCount => (Disks?.Count ?? 0) + (Entropy ? 1 : 0) + (Nics?.Count ?? 0);

    /// <summary>Where this domain's devices are: one plan for the machine and its device tree.</summary>
    public PlatformPlan Platform() =>
        PlatformPlan.For(new PlatformRequest(Cpus, [(GuestMemoryMap.Ram0Base, RamSize)], SbsaUart, Optee: Tee == Jit.Hypervisor.Config.TeeKind.Optee, Smmu));
}

/// <summary>How a disk appears to the guest: a virtio-blk function or an NVMe controller, each on the PCIe bus.</summary>
public enum DiskInterface { Virtio, Nvme }

/// <summary>A disk image file given to a Linux domain, opened read-only or read-write.</summary>
public sealed record LinuxDisk(string Path, bool ReadOnly, DiskFormat Format = DiskFormat.Raw, DiskInterface Interface = DiskInterface.Virtio)
{
    public const string Syntax = "FILE[,ro|readonly][,format=raw|qcow2][,if=virtio|nvme]";

    /// <summary>Parses <see cref="Syntax"/> (<c>--disk</c>, <c>--pci-device disk=</c>); a problem is returned as text.</summary>
    public static bool TryParse(string text, out LinuxDisk disk, out string problem)
    {
        string[] parts = text.Split(',');
        disk = new LinuxDisk(parts[0], ReadOnly: false);
        problem = "";
        if (parts[0].Length == 0)
        {
            problem = "names no file";
            return false;
        }
        foreach (string part in parts.AsSpan(1))
        {
            if (part is "ro" or "readonly") disk = disk with { ReadOnly = true };
            else if (part.StartsWith("format=", StringComparison.Ordinal) && DiskImage.TryParseFormat(part["format=".Length..], out var format))
                disk = disk with { Format = format };
            else if (part is "if=virtio") disk = disk with { Interface = DiskInterface.Virtio };
            else if (part is "if=nvme") disk = disk with { Interface = DiskInterface.Nvme };
            else
            {
                problem = $"unknown '{part}' (ro, readonly, format=raw, format=qcow2, if=virtio or if=nvme)";
                return false;
            }
        }
        return true;
    }
}

/// <summary>
/// The platform of the design for a Linux guest, placed by <see cref="PlatformPlan"/>: RAM bank 0, a GICv3 with
/// a redistributor per vCPU and an ITS, the generic timers, the PL011 console, the PL031, PSCI over HVC, and a
/// PCIe host bridge (INTx on four SPIs, MSIs through the ITS) carrying the domain's virtio devices, and with
/// <see cref="LinuxOptions.Smmu"/> an SMMUv3 in front of that bridge through which every function's DMA and MSIs
/// go, each function its own stream (StreamID = requester ID). The domain
/// builder loads the kernel at its Image placement, the initramfs and the device tree at the top of RAM, and
/// enters the kernel on vCPU 0 with X0 = the device tree's address (booting.rst).
/// </summary>
public sealed class LinuxMachine : Machine
{
    public const ulong MinRamSize = 64UL << 20;

    /// <summary>Devices 1 to 31 of bus 0: the disks, virtio-rng and the network interfaces together.</summary>
    public const int MaxPciDevices = 31;

    private readonly IReadOnlyList<IBlockImage> disks;
    private readonly IReadOnlyList<PluggedNic> nics;
    private readonly NetworkFabric? ownFabric;

    private LinuxMachine(Domain domain, Pl011 uart, GicV3 gic, GicIts its, SmmuV3? smmu, PciHostBridge pci, IReadOnlyList<IBlockImage> disks,
        Pl031 rtc, byte[] deviceTree, LoadedKernel kernel, IReadOnlyList<PluggedNic> nics, NetworkFabric? ownFabric) : base(domain, uart)
    {
        Smmu = smmu;
        this.nics = nics;
        this.ownFabric = ownFabric;
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

    /// <summary>The SMMUv3 in front of <see cref="Pci"/>, or null for a domain without one.</summary>
    public SmmuV3? Smmu { get; }
    public PciHostBridge Pci { get; }
    public Pl031 Rtc { get; }
    public byte[] DeviceTree { get; }
    public LoadedKernel Kernel { get; }

    /// <summary>The device tree a domain with these options gets (for <c>jit dtb</c> and --dtb-out).</summary>
    public static byte[] DescribePlatform(LinuxOptions o, (ulong Start, ulong End)? initrd)
    {
        var (kaslr, rng) = BootEntropy(reproducible: o.IcountShift is not null);
        var partial = o.PartialDeviceTree is { } path ? PartialDeviceTree.Load(path) : null;
        return PlatformDeviceTree.Build(o.Platform(), new BootChosen(o.BootArgs, initrd, kaslr, rng), partial);
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
    /// <param name="fabric">The host's networks the interfaces join; null gives the machine networks of its own.</param>
    public static LinuxMachine Create(LinuxOptions o, Stream console, int domid = 0, string? name = null, NetworkFabric? fabric = null)
    {
        if (o.RamSize < MinRamSize || o.RamSize > Ram0MaxSize || o.RamSize % 4096 != 0)
            throw new ArgumentOutOfRangeException(nameof(o), $"RAM must be a multiple of 4K between 64M and 3G");
        if (o.Cpus is < 1 or > VcpuTopology.MaxVcpus) throw new ArgumentOutOfRangeException(nameof(o), $"1 to {VcpuTopology.MaxVcpus} vCPUs");
        if (o.IcountShift is not null && o.Cpus != 1) throw new ArgumentOutOfRangeException(nameof(o), "instruction-count time runs one vCPU");
        if (o.PciDeviceCount > MaxPciDevices)
            throw new ArgumentOutOfRangeException(nameof(o), $"at most {MaxPciDevices} PCI devices (disks, virtio-rng and network interfaces)");
        var domain = new Domain(name ?? Path.GetFileName(o.Kernel), o.IcountShift is int shift ? new InstructionCounter(shift) : null, domid);
        var disks = new List<IBlockImage>();
        var nics = new List<PluggedNic>();
        var ownFabric = fabric is null && o.Nics is { Count: > 0 } ? new NetworkFabric() : null;
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

            var plan = o.Platform();
            var gic = new GicV3(o.Cpus, domain.GuestMemory);
            domain.Mmio.Register(plan.Gic.DistributorBase, gic.Distributor);
            domain.Mmio.Register(plan.Gic.RedistributorBase, gic.Redistributors);
            ulong itsBase = plan.Gic.ItsBase ?? throw new InvalidOperationException("a Linux domain's platform has an ITS");
            var its = new GicIts(gic, domain.GuestMemory, itsBase);
            domain.Mmio.Register(itsBase, its);
            SmmuV3? smmu = null;
            if (plan.Smmu is { } s)
            {
                // Its stream table, queues and the translation tables Linux writes are in the domain's RAM; its
                // own MSIs (event queue and global errors, as its msi-parent lets Linux configure them) go to the
                // ITS with a DeviceID no PCI function has. The wired lines serve a guest that ignores msi-parent.
                smmu = new SmmuV3(domain.GuestMemory, s.Base, its, SmmuV3Placement.MsiDeviceId)
                {
                    EventQueueInterrupt = gic.SpiLine((int)s.EventQueueSpi),
                    GlobalErrorInterrupt = gic.SpiLine((int)s.GlobalErrorSpi),
                    CommandSyncInterrupt = gic.SpiLine((int)s.CommandSyncSpi),
                    // The hypervisor's log (xl dmesg) names the domain's first fault of each kind and stage on each
                    // stream; the guest's driver reads them all from its event queue.
                    EventObserver = e => Log.OnceFor(domain.LogName, $"smmu-event-{e.StreamId}-{e.Type}-{e.Stage2}", $"SMMUv3: {e}"),
                };
                domain.Mmio.Register(s.Base, smmu);
            }
            var layout = plan.Pci.Layout;
            // Behind the SMMU a function's MSI is a DMA write like any other: translated by its stream, then offered to the ITS.
            var pci = new PciHostBridge(layout, smmu is null ? its : smmu.MsiRemapper(its), [.. layout.IntxSpis.Select(spi => gic.SpiLine((int)spi))]);
            domain.Mmio.Register(layout.EcamBase, pci);
            foreach (var window in pci.MemoryWindows) domain.Mmio.Register(window.Window.CpuBase, window);
            AttachPciDevices(o, pci, smmu, domain, disks, nics, fabric ?? ownFabric);
            var uart = new Pl011(console) { Interrupt = gic.SpiLine((int)plan.Uart.Spi) };
            domain.Mmio.Register(plan.Uart.Base, o.SbsaUart ? new SbsaUart(uart) : uart);
            var rtc = CreateRtc(domain.Counter);
            rtc.Interrupt = gic.SpiLine((int)plan.Rtc.Spi);
            domain.Mmio.Register(plan.Rtc.Base, rtc);

            for (int i = 0; i < o.Cpus; i++)
            {
                var v = domain.AddVcpu();
                gic.ConnectCpu(i, v.IrqInput);
                v.ConnectGic(gic.CpuInterface(i));
                v.Processor.Timer.VirtualLine = gic.PpiLine(i, GenericTimerPlacement.VirtualTimerPpi);
                v.Processor.Timer.PhysicalLine = gic.PpiLine(i, GenericTimerPlacement.PhysicalTimerPpi);
            }
            var boot = domain.Vcpus[0];
            boot.Reset(kernel.Entry);
            unsafe { boot.State->X[0] = dtbBase; }
            return new LinuxMachine(domain, uart, gic, its, smmu, pci, disks, rtc, dtb, kernel, nics, ownFabric);
        }
        catch
        {
            foreach (var n in nics) n.Dispose();
            ownFabric?.Dispose();
            foreach (var d in disks) d.Dispose();
            domain.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The options' PCI devices on bus 0, function 0 of devices 1, 2, …: the disks in order (virtio-blk or NVMe),
    /// then virtio-rng, then the network interfaces. Device 0 stays empty, as on a host bridge whose own header
    /// Linux's generic driver does not need. Each function's DMA goes through <paramref name="smmu"/>'s stream for its
    /// requester ID when there is an SMMU, straight to the domain's memory otherwise.
    /// </summary>
    /// <exception cref="DiskImageException">A disk image cannot be opened; the ones opened so far are in <paramref name="disks"/>.</exception>
    /// <exception cref="Jit.Devices.Network.NetworkBackendException">A TAP device cannot be opened.</exception>
    private static void AttachPciDevices(LinuxOptions o, PciHostBridge pci, SmmuV3? smmu, Domain domain, List<IBlockImage> disks,
        List<PluggedNic> nics, NetworkFabric? fabric)
    {
        const int bus = 0, function = 0;
        int device = 1;
        IDmaPort DmaFor(int device) => DmaPort(smmu, domain, PciHostBridge.RequesterId(bus, device, function));
        // Behind an IOMMU a virtio device says so, or Linux's virtio core hands it physical addresses the SMMU refuses.
        bool accessPlatform = smmu is not null;
        foreach (var disk in o.Disks ?? [])
        {
            var image = DiskImage.Open(disk.Path, disk.Format, disk.ReadOnly);
            disks.Add(image);
            // The serial names the namespace (NGUID) too, so it differs between a domain's controllers.
            var controller = DiskController(disk, image, DmaFor(device), $"JIT{domain.DomId:x4}{device:x2}", accessPlatform);
            pci.Register(bus, device++, function, controller);
        }
        if (o.Entropy)
        {
            // In instruction-count time a fixed stream: the pool it feeds shapes the rest of the run.
            IEntropySource source = o.IcountShift is null ? new HostEntropy() : new SeededEntropy(IcountEntropySeed);
            var rng = new VirtioPciFunction(new VirtioEntropy(source), DmaFor(device), accessPlatform);
            pci.Register(bus, device++, function, rng);
        }
        int index = 0;
        foreach (var nic in o.Nics ?? [])
        {
            var plugged = fabric!.Plug(nic, domain.DomId, index);
            nics.Add(plugged);
            var net = new VirtioNet(nic.Mac ?? NicSpec.DerivedMac(domain.Name, index), plugged.Backend);
            var nicFunction = new VirtioPciFunction(net, DmaFor(device), accessPlatform);
            pci.Register(bus, device++, function, nicFunction);
            plugged.Connect(net.Receiver);
            index++;
        }
    }

    /// <summary>The PCI function a disk is: an NVMe controller (with <paramref name="serial"/>) or a virtio-blk function.</summary>
    public static PciFunction DiskController(LinuxDisk disk, IBlockImage image, IDmaPort dma, string serial, bool accessPlatform) =>
        disk.Interface == DiskInterface.Nvme
            ? new NvmeController(image, dma, serial)
            : new VirtioPciFunction(new VirtioBlock(image), dma, accessPlatform);

    private static IDmaPort DmaPort(SmmuV3? smmu, Domain domain, ushort requesterId) =>
        smmu?.PortFor(requesterId) ?? (IDmaPort)domain.GuestMemory;

    /// <summary>
    /// The DMA port of the function with <paramref name="requesterId"/> on this domain's bridge: its SMMU stream
    /// (the guest's stage 1 if it enabled one, then this domain's p2m), or this domain's memory through its p2m.
    /// </summary>
    public IDmaPort DmaPortFor(ushort requesterId) => DmaPort(Smmu, Domain, requesterId);

    public override void Dispose()
    {
        Rtc.Dispose();
        foreach (var v in Domain.Vcpus) v.Processor.Timer.Dispose();
        // Unplugged before the domain's memory goes, so no frame is delivered into freed RAM.
        foreach (var n in nics) n.Dispose();
        ownFabric?.Dispose();
        base.Dispose();
        // After the vCPUs are gone, so no request is in flight; disposing flushes each image to its file.
        foreach (var d in disks) d.Dispose();
    }
}
