using System.Security.Cryptography;
using Jit.Runtime.Startup;

namespace Jit.Hypervisor.Smccc;

/// <summary>
/// The Arm True Random Number Generator firmware interface 1.0 (DEN0098), in the Standard Secure Service range
/// 0x50–0x5F: Linux probes it at boot, seeds its random pool from it, and `arm_smccc_trng` offers it as a
/// hwrng. The entropy comes from the host's cryptographic generator, or, in instruction-count time, from a
/// fixed-seed stream so that a run is reproducible (it is then not random at all, which is the point).
/// </summary>
[CompiledEarly]
public sealed class Trng : ISmcccService
{
    public const uint Version = 0x8400_0050, Features = 0x8400_0051, GetUuid = 0x8400_0052, Rnd32 = 0x8400_0053, Rnd64 = 0xC400_0053;

    /// <summary>Version 1.0: major in bits [30:16], minor in [15:0].</summary>
    public const long Version10 = 1 << 16;

    public const long InvalidParameters = -2;

    /// <summary>The back end's UUID (TRNG_GET_UUID): this implementation's, generated once for the project.</summary>
    public static readonly Guid BackEndUuid = new("8d3f6b2e-91c4-4a57-b0e2-5c7a13f9d6e8");

    private ulong seeded;

    /// <param name="seed">Null: the host's generator. A value: SplitMix64 from it, for reproducible runs.</param>
    public Trng(ulong? seed = null)
    {
        Seeded = seed is not null;
        seeded = seed ?? 0;
    }

    public bool Seeded { get; }

    public string Name => "TRNG";

    public SmcccOutcome Call(ref SmcccCall call)
    {
        switch (call.FunctionId)
        {
            case Version:
                call.Return(Version10);
                return SmcccOutcome.Done;
            case Features:
                call.Return((uint)call.X1 is Version or Features or GetUuid or Rnd32 or Rnd64 ? SmcccResult.Success : SmcccResult.NotSupported);
                return SmcccOutcome.Done;
            case GetUuid:
                var (w0, w1, w2, w3) = ServiceIdentity.Words(BackEndUuid);
                call.Return(w0, w1, w2, w3);
                return SmcccOutcome.Done;
            case Rnd32:
                Random(ref call, (uint)call.X1, 32);
                return SmcccOutcome.Done;
            case Rnd64:
                Random(ref call, call.X1, 64);
                return SmcccOutcome.Done;
            default:
                return SmcccOutcome.Unknown;
        }
    }

    /// <summary>
    /// N bits (1 to 3 × the register width) in the low N bits of X1:X2:X3, X3 the least significant; the bits
    /// above N and, on an error, all three registers are zero.
    /// </summary>
    private void Random(ref SmcccCall call, ulong bits, int width)
    {
        if (bits == 0 || bits > (ulong)(3 * width))
        {
            call.Return(InvalidParameters, 0, 0, 0);
            return;
        }
        Span<ulong> r = stackalloc ulong[3];
        if (Seeded)
            for (int i = 0; i < 3; i++) r[i] = Next();
        else
            RandomNumberGenerator.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(r));
        // Registers from the least significant: X3, X2, X1.
        int n = (int)bits;
        ulong x3 = Take(r[0], ref n, width), x2 = Take(r[1], ref n, width), x1 = Take(r[2], ref n, width);
        call.Return(SmcccResult.Success, x1, x2, x3);
    }

    /// <summary>The next register's share of the <paramref name="bits"/> still to give: at most one register width.</summary>
    private static ulong Take(ulong random, ref int bits, int width)
    {
        int here = Math.Min(bits, width);
        bits -= here;
        return here == 64 ? random : random & ((1UL << here) - 1);
    }

    // SplitMix64: a fixed, well-mixed sequence from the seed; reproducibility, not secrecy, is what it gives.
    private ulong Next()
    {
        ulong z = seeded += 0x9E37_79B9_7F4A_7C15;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }
}
