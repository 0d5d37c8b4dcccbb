using System.Runtime.InteropServices;

namespace Jit.Runtime;

/// <summary>
/// Event counts of one vCPU's core, kept inside its <see cref="CpuState"/> so that every helper that has the
/// state (exception entry, the MMU's slow path) can count without another pointer.
/// </summary>
/// <remarks>
/// Only the vCPU's own thread writes these, with plain increments: an interlocked add on the hot path would
/// cost more than the event it counts. Observers on other threads read them racily; a 64-bit aligned read
/// never tears on x86-64, so the worst they see is a count one event old.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public struct CpuCounters
{
    /// <summary>
    /// Reads, writes and fetches that did not hit the soft TLB and took the MMU's slow path: real misses, and
    /// the accesses that never hit by design (MMIO, unaligned, atomics, writes to pages holding code).
    /// </summary>
    public ulong TlbMisses;

    /// <summary>IRQ exceptions taken to EL1.</summary>
    public ulong IrqsTaken;

    /// <summary>
    /// Dispatches that found the next block through the fetch TLB and the block cache, because neither the
    /// exiting region's successor slot nor the jump cache held it: what region linking saves.
    /// </summary>
    public ulong BlockLookups;
}
