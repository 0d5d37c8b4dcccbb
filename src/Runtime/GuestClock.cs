using System.Diagnostics;

namespace Jit.Runtime;

/// <summary>The system counter (CNTVCT/CNTPCT): 62.5 MHz derived from the host's monotonic clock.</summary>
public static class GuestClock
{
    private static readonly long start = Stopwatch.GetTimestamp();

    public static ulong Now()
    {
        // Read the origin first: the first access to it runs the type's initialiser, which would otherwise
        // take a later timestamp than the one being measured and make the very first count negative.
        long origin = start;
        long elapsed = Stopwatch.GetTimestamp() - origin;
        return (ulong)((Int128)elapsed * (long)CpuModel.CounterFrequency / Stopwatch.Frequency);
    }

    /// <summary>The <see cref="Stopwatch"/> timestamp at which the counter reaches <paramref name="counter"/> (at least that time), saturating.</summary>
    public static long TimestampOf(ulong counter)
    {
        Int128 ticks = start + ((Int128)counter * Stopwatch.Frequency + (long)CpuModel.CounterFrequency - 1) / (long)CpuModel.CounterFrequency;
        return ticks > long.MaxValue ? long.MaxValue : (long)ticks;
    }
}
