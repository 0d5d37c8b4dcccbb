namespace Jit.Differential.Tests;

/// <summary>
/// SplitMix64: small, fast, and its sequence for a seed never changes with the .NET version, so a seed
/// printed by a failing run reproduces on any machine.
/// </summary>
public sealed class Rng(ulong seed)
{
    private ulong state = seed;

    public ulong Next()
    {
        ulong z = state += 0x9E37_79B9_7F4A_7C15;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, n).</summary>
    public int Below(int n) => (int)(Next() % (ulong)n);

    /// <summary>Uniform in [lo, hi].</summary>
    public int Range(int lo, int hi) => lo + Below(hi - lo + 1);

    public uint Bits(int width) => (uint)(Next() & ((1UL << width) - 1));

    public bool Chance(int percent) => Below(100) < percent;

    public bool Coin() => (Next() & 1) != 0;

    public T Pick<T>(IReadOnlyList<T> items) => items[Below(items.Count)];

    /// <summary>A seed for the <paramref name="index"/>-th item derived from <paramref name="seed"/>, independent of the others.</summary>
    public static ulong Derive(ulong seed, ulong index) => new Rng(seed ^ (index * 0xD1B5_4A32_D192_ED03)).Next();
}
