using System.Globalization;
using Jit.Hypervisor.Tracing;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>Parsers for option values, each failing with a <see cref="UsageError"/> that names the option.</summary>
internal static class Options
{
    public static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length) throw new UsageError($"{args[i]} needs a value");
        return args[++i];
    }

    /// <summary>Seconds, fractional allowed: "2", "0.5".</summary>
    public static TimeSpan Seconds(string option, string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) || !(s > 0) || s > 1e6)
            throw new UsageError($"{option} '{text}' is not a number of seconds greater than zero");
        return TimeSpan.FromSeconds(s);
    }

    /// <summary>A count: digits with optional '_' separators and an optional k, M or G (powers of 1000).</summary>
    public static ulong Count(string option, string text)
    {
        string t = text.Replace("_", "");
        ulong scale = 1;
        if (t.Length > 0 && "kMG".Contains(t[^1]))
        {
            scale = t[^1] switch { 'k' => 1_000UL, 'M' => 1_000_000UL, _ => 1_000_000_000UL };
            t = t[..^1];
        }
        if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) || n == 0 || n > ulong.MaxValue / scale)
            throw new UsageError($"{option} '{text}' is not a positive count");
        return n * scale;
    }

    /// <summary>A size in bytes: a number with an optional K, M or G (powers of 1024), or 0x-hex bytes.</summary>
    public static ulong Size(string option, string text)
    {
        string t = text.Trim();
        ulong n;
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (!ulong.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out n))
                throw new UsageError($"{option} '{text}' is not a size");
            return n;
        }
        if (t.EndsWith("iB", StringComparison.Ordinal)) t = t[..^2];
        else if (t.EndsWith('B')) t = t[..^1];
        int shift = 0;
        if (t.Length > 0 && char.ToUpperInvariant(t[^1]) is 'K' or 'M' or 'G')
        {
            shift = char.ToUpperInvariant(t[^1]) switch { 'K' => 10, 'M' => 20, _ => 30 };
            t = t[..^1];
        }
        if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out n) || n > (ulong.MaxValue >> shift))
            throw new UsageError($"{option} '{text}' is not a size (e.g. 128M, 1G)");
        return n << shift;
    }

    /// <summary>
    /// <c>--icount</c> or <c>--icount=SHIFT</c>: guest time advances 2^SHIFT ns per retired instruction; null
    /// when <paramref name="arg"/> is some other option.
    /// </summary>
    public static int? Icount(string arg)
    {
        if (arg == "--icount") return Jit.Runtime.Timers.InstructionCounter.DefaultShift;
        if (!arg.StartsWith("--icount=", StringComparison.Ordinal)) return null;
        string text = arg["--icount=".Length..];
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int shift) || shift > Jit.Runtime.Timers.InstructionCounter.MaxShift)
            throw new UsageError($"--icount '{text}' is not a shift from 0 to {Jit.Runtime.Timers.InstructionCounter.MaxShift} (2^SHIFT ns per instruction)");
        return shift;
    }

    /// <summary>Instruction-count time is uniprocessor: the vCPUs' interleaving would otherwise follow host scheduling.</summary>
    public static void CheckIcountSmp(int? icount, int smp)
    {
        if (icount is not null && smp != 1)
            throw new UsageError("--icount needs --smp 1: instruction-count time follows one vCPU, and the interleaving of several would depend on host scheduling");
    }

    /// <summary>A <c>--trace</c> value: <see cref="GuestTrace.Syntax"/>.</summary>
    public static (TraceKinds Kinds, string? File) Trace(string text) =>
        GuestTrace.Parse(text, out string? error) ?? throw new UsageError($"--trace '{text}': {error}");
}
