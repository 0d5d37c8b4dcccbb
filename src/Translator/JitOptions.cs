namespace Jit.Translator;

/// <summary>How the IL tier runs: not at all, on the background compiler thread, or inline on the vCPU thread.</summary>
public enum Tier1Mode { Off, Background, Synchronous }

/// <summary>
/// Where a compiled region keeps the guest's general registers: in IL locals, loaded on entry and stored on
/// exit (RyuJIT can keep them in host registers across a loop), or in the vCPU state, read and written at each
/// use (nothing to load or store on entry and exit); <see cref="Auto"/> uses locals for regions with a loop.
/// </summary>
public enum RegisterHome { Auto, Locals, State }

/// <summary>
/// The switches of the execution engine, each able to turn one mechanism off on its own so that a wrong result
/// can be bisected to it (<c>jit run --jit tier1=off|sync|background,threshold=N,inline-tlb=off</c>).
/// </summary>
public sealed record JitOptions
{
    /// <summary>
    /// Blocks entered this many times are compiled. A few hundred keeps RyuJIT (about 120 µs per small block)
    /// away from boot-time code that runs only a handful of times, while loops still get compiled early.
    /// </summary>
    public const ulong DefaultThreshold = 500;

    public Tier1Mode Tier1 { get; init; } = Tier1Mode.Background;
    public ulong Threshold { get; init; } = DefaultThreshold;
    /// <summary>Emit the soft-TLB hit path in the compiled code; off sends every access through <c>Mmu</c>'s methods.</summary>
    public bool InlineTlb { get; init; } = true;
    /// <summary>Compile a hot block with the successors it reaches in its page as one method; off compiles it alone.</summary>
    public bool Regions { get; init; } = true;
    /// <summary>
    /// Compile instructions tier 1 has no IL for as a call to the interpreter for that instruction, so blocks
    /// need not stop there; off ends the compiled code at the first such instruction.
    /// </summary>
    public bool Executor { get; init; } = true;
    /// <summary>
    /// Find the next block through the jump cache (virtual PC to block, valid while the TLB and EL are unchanged)
    /// and a region's per-exit successor slots; off looks every exit up through the fetch TLB and block cache.
    /// </summary>
    public bool Linking { get; init; } = true;
    /// <summary>
    /// Keep the soft TLB's translations of several address spaces and select one on a TTBR, TCR or SCTLR write;
    /// off empties the whole soft TLB on every such write instead.
    /// </summary>
    public bool TlbContexts { get; init; } = true;
    /// <summary>
    /// Leave uncompiled a hot block that a region waiting for the background compiler already holds; off gives
    /// it a region of its own, so its code is compiled twice.
    /// </summary>
    public bool CoverWaiting { get; init; } = true;

    /// <summary>
    /// Where compiled regions keep the guest's registers (<c>regs=auto|locals|state</c>). Locals, because the
    /// others do not pay: with auto, 300 fork+execs, the shell loop and the tmpfs workload ran about 5% faster
    /// (medians of 5 interleaved rounds: 2.08/1.44/1.59 s against 3.01/1.53/1.80 s, a noisy machine), but a boot
    /// took 3.0–3.5 s against 2.8–2.9 s, since RyuJIT spends more per instruction on state accesses (2.18 s for
    /// 33,267 instructions against 1.92 s for 34,415) and a boot is bound by compilation.
    /// </summary>
    public RegisterHome Registers { get; init; } = RegisterHome.Locals;

    public static JitOptions Default { get; } = new();

    /// <summary>The engine's switches for test machines: <c>JIT_OPTIONS</c>, in the <c>--jit</c> syntax, or the defaults.</summary>
    public static JitOptions FromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable("JIT_OPTIONS");
        return string.IsNullOrWhiteSpace(text) ? Default : Parse(text);
    }

    /// <summary>Parses <c>key=value</c> pairs separated by commas; unknown keys and values throw <see cref="FormatException"/>.</summary>
    public static JitOptions Parse(string text, JitOptions? start = null)
    {
        var o = start ?? Default;
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            if (eq < 0) throw new FormatException($"'{part}' is not key=value");
            string key = part[..eq].Trim().ToLowerInvariant(), value = part[(eq + 1)..].Trim().ToLowerInvariant();
            o = key switch
            {
                "tier1" => o with
                {
                    Tier1 = value switch
                    {
                        "off" => Tier1Mode.Off,
                        "sync" or "synchronous" => Tier1Mode.Synchronous,
                        "background" or "on" => Tier1Mode.Background,
                        _ => throw new FormatException($"tier1 must be off, sync or background, not '{value}'"),
                    },
                },
                "threshold" => o with
                {
                    Threshold = ulong.TryParse(value, out ulong n) ? n : throw new FormatException($"threshold must be a number, not '{value}'"),
                },
                "inline-tlb" => o with { InlineTlb = OnOff(key, value) },
                "regions" => o with { Regions = OnOff(key, value) },
                "executor" => o with { Executor = OnOff(key, value) },
                "linking" => o with { Linking = OnOff(key, value) },
                "tlb-contexts" => o with { TlbContexts = OnOff(key, value) },
                "cover-waiting" => o with { CoverWaiting = OnOff(key, value) },
                "regs" => o with
                {
                    Registers = value switch
                    {
                        "auto" => RegisterHome.Auto,
                        "locals" => RegisterHome.Locals,
                        "state" => RegisterHome.State,
                        _ => throw new FormatException($"regs must be auto, locals or state, not '{value}'"),
                    },
                },
                _ => throw new FormatException($"unknown --jit option '{key}' (tier1, threshold, inline-tlb, regions, executor, linking, tlb-contexts, cover-waiting, regs)"),
            };
        }
        return o;
    }

    private static bool OnOff(string key, string value) => value switch
    {
        "on" or "1" or "true" => true,
        "off" or "0" or "false" => false,
        _ => throw new FormatException($"{key} must be on or off, not '{value}'"),
    };

    public override string ToString() =>
        $"tier1={Tier1 switch { Tier1Mode.Off => "off", Tier1Mode.Synchronous => "sync", _ => "background" }},threshold={Threshold},inline-tlb={(InlineTlb ? "on" : "off")},regions={(Regions ? "on" : "off")},executor={(Executor ? "on" : "off")},linking={(Linking ? "on" : "off")},tlb-contexts={(TlbContexts ? "on" : "off")},cover-waiting={(CoverWaiting ? "on" : "off")},regs={Registers.ToString().ToLowerInvariant()}";
}
