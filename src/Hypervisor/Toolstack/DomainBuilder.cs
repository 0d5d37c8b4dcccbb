using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Toolstack;

/// <summary>
/// Builds a domain from its checked configuration on the platform of the design (GICv3, timers, PL011, PL031,
/// PSCI), as <c>jit run --kernel</c> does: the kernel is an arm64 Image (gzip'd or not) or an ELF laid out as
/// one, entered with X0 = the device tree, so bare-metal programs that read the tree run as guests too. The
/// domain's SMCCC rights are its configuration's (<c>smccc_permit</c>, <c>tee</c>) for its domid. Bad
/// images raise <see cref="ImageError"/> naming the file.
/// </summary>
public static class DomainBuilder
{
    /// <param name="networks">The host's switches that the domain's vifs join.</param>
    public static Machine Build(DomainConfig c, int domid, Stream console, Network.NetworkFabric? networks = null)
    {
        var o = new LinuxOptions(c.Kernel, c.Ramdisk, c.Cmdline ?? "console=ttyAMA0", c.MemoryMiB << 20, c.Vcpus, c.JitDtb,
            SbsaUart: c.Vuart == VuartKind.SbsaUart, PartialDeviceTree: c.DeviceTree, Disks: c.Disks, Nics: c.Nics, Tee: c.Tee, Smmu: c.Smmu);
        var machine = LinuxMachine.Create(o, console, domid, c.Name, networks);
        machine.Domain.Smccc.Policy = c.SmcccPolicyFor(domid);
        return machine;
    }
}
