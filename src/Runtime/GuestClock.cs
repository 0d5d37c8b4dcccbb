using System.Diagnostics;

namespace Jit.Runtime;

/// <summary>The system counter (CNTVCT/CNTPCT): 62.5 MHz derived from the host's monotonic clock.</summary>
public static class GuestClock
{
    private static readonly long start = Stopwatch.GetTimestamp();

    public static ulong Now()
    {
        long elapsed = Stopwatch.GetTimestamp() - start;
        return (ulong)((Int128)elapsed * (long)CpuModel.CounterFrequency / Stopwatch.Frequency);
    }
}
