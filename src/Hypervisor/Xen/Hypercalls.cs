using Jit.Runtime;

namespace Jit.Hypervisor.Xen;

/// <summary>
/// Xen's hypercall ABI on Arm, which a guest uses with HVC #0xEA1: the hypercall number in X16, arguments in
/// X0–X4, the result in X0. The table is empty for now: every call returns -ENOSYS, as Xen answers a number it
/// does not implement, and the first call of each number is logged once per domain. The log check is a bit
/// per number, so a guest that repeats a call costs neither a string nor a dictionary lookup.
/// </summary>
public sealed unsafe class Hypercalls(Domain domain)
{
    /// <summary>The HVC immediate that marks a Xen hypercall (XEN_HYPERCALL_TAG).</summary>
    public const ushort Tag = 0xEA1;

    /// <summary>Xen returns -errno; ENOSYS is 38.</summary>
    public const long ENOSYS = -38;

    // Xen's hypercall numbers are below 64 (__HYPERVISOR_* in xen.h); anything else shares the last bit.
    private ulong logged;

    public void Call(CpuState* s, int vcpu)
    {
        ulong number = s->X[16];
        ulong bit = 1UL << (int)Math.Min(number, 63);
        if ((Volatile.Read(ref logged) & bit) == 0 && (Interlocked.Or(ref logged, bit) & bit) == 0)
            Log.Warn($"domain {domain.Name}, vCPU {vcpu}: Xen hypercall {number} is not implemented; answered -ENOSYS");
        s->X[0] = unchecked((ulong)ENOSYS);
    }
}
