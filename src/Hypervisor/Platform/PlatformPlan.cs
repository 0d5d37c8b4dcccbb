using Jit.Runtime;

namespace Jit.Hypervisor.Platform;

/// <summary>What a domain's platform should have; <see cref="PlatformPlan.For"/> places it.</summary>
/// <param name="Ram">RAM banks, each (IPA, size).</param>
/// <param name="SbsaUart">xl.cfg's <c>vuart = "sbsa_uart"</c>: the console is Xen's SBSA subset of the PL011.</param>
/// <param name="Optee">xl.cfg's <c>tee = "optee"</c>: the tree gets /firmware/optee.</param>
/// <param name="Smmu">Our <c>jit_smmu</c>: an SMMUv3 in front of the PCIe host bridge translates its functions' DMA and MSIs.</param>
public sealed record PlatformRequest(int Cpus, IReadOnlyList<(ulong Base, ulong Size)> Ram, bool SbsaUart = false, bool Optee = false, bool Smmu = false);

/// <summary>
/// A domain's platform as data: every device with its registers and interrupts, placed once. Devices Xen places
/// for a domU sit at Xen's <c>GUEST_*</c> addresses; the rest get slots and SPIs from a
/// <see cref="PlatformAllocator"/>. The machine builder creates and registers the devices from this plan and the
/// device tree is written from it, so the two cannot disagree.
/// </summary>
public sealed class PlatformPlan
{
    private PlatformPlan(PlatformRequest request, GicV3Placement gic, Pl011Placement uart, Pl031Placement rtc, SmmuV3Placement? smmu,
        PciHostBridgePlacement pci)
    {
        Request = request;
        Gic = gic;
        Uart = uart;
        Rtc = rtc;
        Smmu = smmu;
        Pci = pci;
        // Device-tree order: the interrupt controller and the timer first, as the kernel probes them early anyway;
        // the rest in the order their drivers have always seen them, the SMMU before the bridge it serves.
        var devices = new List<PlatformDevice> { gic, Timer, Clock, uart, rtc };
        if (smmu is not null) devices.Add(smmu);
        devices.Add(pci);
        if (request.Optee) devices.Add(new OpteeFirmwarePlacement());
        Devices = devices;
    }

    public PlatformRequest Request { get; }
    public int Cpus => Request.Cpus;
    public IReadOnlyList<(ulong Base, ulong Size)> Ram => Request.Ram;

    public GicV3Placement Gic { get; }
    public GenericTimerPlacement Timer { get; } = new();
    public FixedClockPlacement Clock { get; } = new();
    public Pl011Placement Uart { get; }
    public Pl031Placement Rtc { get; }
    public PciHostBridgePlacement Pci { get; }

    /// <summary>The SMMUv3 in front of <see cref="Pci"/>, or null when the request has none.</summary>
    public SmmuV3Placement? Smmu { get; }

    /// <summary>Every placed device, in device-tree order.</summary>
    public IReadOnlyList<PlatformDevice> Devices { get; }

    public static PlatformPlan For(PlatformRequest r)
    {
        if (r.Cpus is < 1 or > VcpuTopology.MaxVcpus)
            throw new ArgumentOutOfRangeException(nameof(r), $"{r.Cpus} vCPUs: a domain has 1 to {VcpuTopology.MaxVcpus}");
        var allocate = new PlatformAllocator();
        var gic = new GicV3Placement(GicV3Placement.XenDistributorBase, GicV3Placement.XenRedistributorBase, r.Cpus, GicV3Placement.DefaultItsBase);
        var uart = new Pl011Placement(Pl011Placement.XenBase, Pl011Placement.XenSpi, r.SbsaUart);
        // Allocation order is part of the platform's definition: the RTC first, then the bridge's INTx lines,
        // then the SMMU, so that a domain with one sees every other device where a domain without one does.
        var rtc = new Pl031Placement(allocate.Mmio(Pl031Placement.Size), allocate.Spis());
        uint intx = allocate.Spis(4);
        var smmu = r.Smmu
            ? new SmmuV3Placement(allocate.Mmio(SmmuV3Placement.Size), allocate.Spis(SmmuV3Placement.SpiCount), MsiToIts: gic.ItsBase is not null)
            : null;
        var pci = new PciHostBridgePlacement(PciHostBridgePlacement.StandardLayout(intx), MsiToIts: gic.ItsBase is not null, BehindSmmu: smmu is not null);
        return new PlatformPlan(r, gic, uart, rtc, smmu, pci);
    }
}
