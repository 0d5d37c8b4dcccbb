using System.Security.Cryptography;

namespace Jit.SecureWorld;

/// <summary>Fills a buffer with random bytes: the host's RNG, or a fixed-seed stream so that runs repeat.</summary>
public delegate void EntropySource(Span<byte> destination);

public static class EntropySources
{
    /// <summary>The host's cryptographic RNG.</summary>
    public static EntropySource Host { get; } = RandomNumberGenerator.Fill;

    /// <summary>
    /// A reproducible stream from <paramref name="seed"/> (SplitMix64), for instruction-count runs: the same seed
    /// gives the same bytes in the same order of requests. Not secure, and not meant to be.
    /// </summary>
    public static EntropySource Seeded(ulong seed)
    {
        var state = new SplitMix64(seed);
        return state.Fill;
    }

    private sealed class SplitMix64(ulong state)
    {
        private readonly Lock gate = new();

        public void Fill(Span<byte> destination)
        {
            lock (gate)
            {
                while (!destination.IsEmpty)
                {
                    state += 0x9E37_79B9_7F4A_7C15;
                    ulong z = state;
                    z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
                    z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
                    z ^= z >> 31;
                    int n = Math.Min(8, destination.Length);
                    for (int i = 0; i < n; i++) destination[i] = (byte)(z >> (8 * i));
                    destination = destination[n..];
                }
            }
        }
    }
}
