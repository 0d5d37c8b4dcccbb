using static Jit.Benchmarks.A64;

namespace Jit.Benchmarks;

/// <summary>
/// The benchmark guests: counted loops that end in HVC, with their inputs in registers the benchmark sets
/// (X0 the iteration count, X6 the data base, X7 an offset into it), so that every run retires the same
/// number of instructions.
/// </summary>
public static class GuestPrograms
{
    /// <summary>Integer work: add, shifted EOR, multiply-add, add-immediate, then the counted back-edge.</summary>
    public static readonly uint[] IntegerLoop =
    [
        AddReg(1, 1, 0),
        EorReg(2, 2, 1, lsl: 3),
        Madd(3, 1, 2, 3),
        AddImm(4, 4, 7),
        SubsImm(0, 0, 1),
        BCond(Ne, -5),
        Hvc(0),
    ];

    public const int IntegerLoopLength = 6;

    /// <summary>
    /// A load, an add and a store per iteration, walking a cache line at a time through the 16 pages of the
    /// data area: every access is a soft-TLB hit once the loop has been round once.
    /// </summary>
    public static readonly uint[] MemoryLoop =
    [
        LdrReg(1, 6, 7),
        AddReg(1, 1, 0),
        StrReg(1, 6, 7),
        AddImm(7, 7, 64),
        AndLowOnes(7, 7, 16),
        SubsImm(0, 0, 1),
        BCond(Ne, -6),
        Hvc(0),
    ];

    public const int MemoryLoopLength = 7;

    /// <summary>Eight loads and stores to one page per iteration, and the back-edge.</summary>
    public static readonly uint[] OnePageLoop =
    [
        LdrImm(1, 6, 0), StrImm(1, 6, 8),
        LdrImm(2, 6, 16), StrImm(2, 6, 24),
        LdrImm(3, 6, 32), StrImm(3, 6, 40),
        LdrImm(4, 6, 48), StrImm(4, 6, 56),
        SubsImm(0, 0, 1),
        BCond(Ne, -9),
        Hvc(0),
    ];

    public const int OnePageAccesses = 8;
}
