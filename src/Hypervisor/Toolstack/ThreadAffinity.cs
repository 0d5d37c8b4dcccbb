using System.Runtime.InteropServices;

namespace Jit.Hypervisor.Toolstack;

/// <summary>Pins the calling host thread to a set of host CPUs (xl.cfg's <c>cpus</c>, Xen's hard affinity).</summary>
public static unsafe partial class ThreadAffinity
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint size, ulong* mask);

    /// <summary>Restricts the calling thread to <paramref name="cpus"/>; false where the host refuses or cannot.</summary>
    public static bool PinCurrentThread(IReadOnlyList<int> cpus)
    {
        if (!OperatingSystem.IsLinux() || cpus.Count == 0) return false;
        // A cpu_set_t of 1024 CPUs, glibc's size.
        ulong* mask = stackalloc ulong[16];
        for (int i = 0; i < 16; i++) mask[i] = 0;
        foreach (int cpu in cpus)
            if (cpu is >= 0 and < 1024) mask[cpu / 64] |= 1UL << (cpu % 64);
        // pid 0: the calling thread, since on Linux affinity belongs to the task.
        return sched_setaffinity(0, 16 * sizeof(ulong), mask) == 0;
    }
}
