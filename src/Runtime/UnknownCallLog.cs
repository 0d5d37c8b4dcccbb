using System.Runtime.CompilerServices;

namespace Jit.Runtime;

/// <summary>
/// Reports function IDs (or commands) that a service does not implement: each once, and at most
/// <see cref="Limit"/> different ones, then a line saying the rest go unlogged. A guest that tries IDs at random
/// (a fuzzer, a hostile one) would otherwise log a line, and leave a key in <see cref="Log"/>'s set, per ID. The IDs
/// already reported are kept direct-mapped, so a guest that repeats one pays a compare, not a string and a
/// dictionary lookup per call.
/// </summary>
public sealed class UnknownCallLog(string service, string what = "function")
{
    /// <summary>Different IDs logged per service (per domain for the dispatcher's).</summary>
    public const int Limit = 32;

    private readonly uint[] reported = new uint[64];
    private int count;

    /// <summary>Logs "<c>{service}: {what} 0x… is not implemented; answered {answer}</c>" if <see cref="Take"/> says so.</summary>
    public void Report(uint functionId, string answer)
    {
        if (Take(functionId))
            Log.Once($"{service}-{what}-{functionId:x8}", $"{service}: {what} 0x{functionId:x8} is not implemented; answered {answer}");
    }

    /// <summary>
    /// Whether <paramref name="functionId"/> is to be reported now, by a caller that words the line itself: not
    /// when it was just reported, nor once <see cref="Limit"/> IDs have been.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Take(uint functionId)
    {
        ref uint slot = ref reported[(int)(functionId ^ (functionId >> 24)) & 63];
        return slot != functionId + 1 && Record(ref slot, functionId);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Record(ref uint slot, uint functionId)
    {
        if (Volatile.Read(ref count) > Limit) return false;
        slot = functionId + 1;
        int n = Interlocked.Increment(ref count);
        if (n == Limit + 1)
            Log.Warn($"{service}: more than {Limit} different unknown {what}s; further ones are answered the same and not logged");
        return n <= Limit;
    }
}
