using Jit.Translator;

namespace Jit.Benchmarks;

/// <summary>Which tier runs the guest: the interpreter alone, or tier 1 compiled before measuring.</summary>
public enum Tier
{
    /// <summary>Tier 0: <c>tier1=off</c>.</summary>
    Interpreted,
    /// <summary>Tier 1, compiled synchronously on first entry (<c>tier1=sync,threshold=0</c>) during the warm-up.</summary>
    Compiled,
}

public static class TierOptions
{
    public static JitOptions Of(Tier tier) => tier == Tier.Interpreted
        ? new JitOptions { Tier1 = Tier1Mode.Off }
        : new JitOptions { Tier1 = Tier1Mode.Synchronous, Threshold = 0 };
}
