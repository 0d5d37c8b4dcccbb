using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Config;

/// <summary>What the hypervisor does when a domain powers off, reboots or crashes (xl.cfg(5) <c>on_*</c>).</summary>
public enum ShutdownAction
{
    /// <summary>Destroy the domain: its memory is freed and it leaves the list.</summary>
    Destroy,
    /// <summary>Destroy it and create it again from the same configuration (same name, new domid).</summary>
    Restart,
    /// <summary>Keep it, stopped, in the list until it is destroyed (its state shows why it stopped).</summary>
    Preserve,
}

/// <summary>Which model of the PL011 the domain's UART is (xl.cfg(5) <c>vuart</c>).</summary>
public enum VuartKind
{
    /// <summary>The full PL011: our extension to xl's values and the default, so Linux's amba-pl011 driver binds.</summary>
    Pl011,
    /// <summary>Xen's <c>sbsa_uart</c>: the SBSA generic UART subset of the PL011 that Xen's vpl011 emulates.</summary>
    SbsaUart,
}

/// <summary>The TEE mediator the domain may reach (xl.cfg(5) <c>tee</c>).</summary>
public enum TeeKind
{
    None,
    /// <summary>OP-TEE, through Xen's OP-TEE mediator.</summary>
    Optee,
    /// <summary>Arm FF-A, through Xen's FF-A mediator.</summary>
    Ffa,
}

/// <summary>
/// What the hypervisor knows of the host when it checks a configuration; the configuration layer assumes none of
/// it.
/// </summary>
/// <param name="MaxVcpus">The most vCPUs a domain may have: <see cref="Jit.Runtime.VcpuTopology.MaxVcpus"/>.</param>
/// <param name="HostCpus">How many host CPUs there are for <c>cpus</c> to name (0 to HostCpus−1).</param>
/// <param name="AvailableMemoryMiB">The machine memory free for a new domain.</param>
public sealed record HostLimits(int MaxVcpus, int HostCpus, ulong AvailableMemoryMiB);

/// <summary>
/// A domain's configuration, checked: what the domain builder and the toolstack use. Made from an xl.cfg file by
/// <see cref="DomainConfigReader"/>; paths are absolute (resolved as xl resolves them, against the working
/// directory of the <c>xl create</c> that named them) and the files were readable when it was read.
/// </summary>
public sealed record DomainConfig
{
    /// <summary>The file it was read from, as the user named it.</summary>
    public required string Source { get; init; }

    public required string Name { get; init; }

    /// <summary>Always "pvh": Xen builds every Arm guest as a PVH domain.</summary>
    public string Type => "pvh";

    public required string Kernel { get; init; }

    public string? Ramdisk { get; init; }

    /// <summary>
    /// The kernel command line: <c>cmdline</c> if given, else built from <c>root</c> and <c>extra</c> as xl does
    /// (<c>root=ROOT EXTRA</c>, <c>root=ROOT</c> or <c>EXTRA</c>); null when none of them is set.
    /// </summary>
    public string? Cmdline { get; init; }

    /// <summary>xl's <c>device_tree</c>: a partial DTB whose /passthrough and /aliases nodes join the generated tree.</summary>
    public string? DeviceTree { get; init; }

    /// <summary>Our <c>jit_dtb</c>: a whole DTB that replaces the generated one, as <c>jit run --dtb</c> does.</summary>
    public string? JitDtb { get; init; }

    public required ulong MemoryMiB { get; init; }

    /// <summary>At least <see cref="MemoryMiB"/>; equal to it unless <c>maxmem</c> says more.</summary>
    public required ulong MaxMemoryMiB { get; init; }

    public required int Vcpus { get; init; }

    public VuartKind Vuart { get; init; } = VuartKind.Pl011;

    public ShutdownAction OnPoweroff { get; init; } = ShutdownAction.Destroy;

    public ShutdownAction OnReboot { get; init; } = ShutdownAction.Restart;

    public ShutdownAction OnCrash { get; init; } = ShutdownAction.Destroy;

    /// <summary>
    /// The host CPUs each vCPU's thread may run on, one set per vCPU (xl's hard affinity), or null when the
    /// configuration pins nothing. A <c>cpus</c> string gives every vCPU the same set; a list gives vCPU i its
    /// i-th entry, and vCPUs past the list's end may run anywhere.
    /// </summary>
    public IReadOnlyList<CpuSet>? CpuAffinity { get; init; }

    public TeeKind Tee { get; init; } = TeeKind.None;

    /// <summary>What a configuration without <c>jit_smmu</c> gets: what <c>jit run</c> gets.</summary>
    public const bool DefaultSmmu = Builder.LinuxOptions.DefaultSmmu;

    /// <summary>Our <c>jit_smmu</c>: an SMMUv3 in front of the domain's PCIe bridge translates its devices' DMA.</summary>
    public bool Smmu { get; init; } = DefaultSmmu;

    /// <summary>
    /// Our <c>smccc_permit</c>: changes to the domain's default SMCCC rights, owner by owner (syntax in
    /// <see cref="Smccc.SmcccPermit"/>, meaning in <see cref="SmcccPolicy"/>); empty for the defaults.
    /// </summary>
    public IReadOnlyList<SmcccPermit> SmcccPermit { get; init; } = [];

    /// <summary>The SMCCC calls the domain may make: the defaults for its domid and TEE, changed by <see cref="SmcccPermit"/>.</summary>
    public SmcccPolicy SmcccPolicyFor(int domid) => SmcccPolicy.Create(domid == 0, Tee == TeeKind.Optee, SmcccPermit);

    /// <summary>xl's <c>disk</c>: the disks on the domain's PCIe bus, in order, paths made absolute and checked readable.</summary>
    public IReadOnlyList<Builder.LinuxDisk> Disks { get; init; } = [];

    /// <summary>xl's <c>vif</c>: the network interfaces, after the disks on the PCIe bus.</summary>
    public IReadOnlyList<Network.NicSpec> Nics { get; init; } = [];

    /// <summary>
    /// xl's <c>pci</c>: host PCI devices (<c>jit hypervisor start --pci-device</c>) assigned to the domain when it is
    /// created, each on its bridge at its vslot or the first free device number; creation fails if one is not
    /// assignable.
    /// </summary>
    public IReadOnlyList<XlPciSpec> Pci { get; init; } = [];

    /// <summary>Things xl would warn about too (e.g. <c>root</c> and <c>extra</c> ignored beside <c>cmdline</c>), one line each.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
