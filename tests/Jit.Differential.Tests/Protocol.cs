namespace Jit.Differential.Tests;

/// <summary>
/// The harness's wire format and memory layout; mirrors guests/difftest/protocol.h, which describes the
/// byte order of each record.
/// </summary>
public static class Protocol
{
    public const uint HelloMagic = 0x3154444a;
    public const uint Version = 3;
    public const uint CaseMagic = 0x45534143;
    public const uint EndMagic = 0x21444e45;
    public const uint ResultMagic = 0x544c5352;

    public const ulong RegionBase = 0x1000_0000;
    public const ulong RegionSize = 0x1_0000;
    public const uint CodeLimit = 0xf000;
    public const uint ScratchPages = 0x8000;
    public const uint ScratchPagesSize = 0x2000;
    /// <summary>The scratch bytes straddle the boundary of the two pages, so unaligned accesses may cross pages.</summary>
    public const uint ScratchOffset = 0x8f80;
    public const uint ScratchMax = 0x1000;
    public const ulong ScratchBase = RegionBase + ScratchOffset;

    /// <summary>Where the Jit side puts VBAR_EL1, inside the area the harness keeps for its own stubs.</summary>
    public const uint VectorOffset = 0xf000;

    public const ushort EndImm = 0xd1ff;
    /// <summary><c>hvc #0xd1ff</c>: the Jit side stops at it; the harness turns it into a branch to its exit stub.</summary>
    public const uint EndWord = 0xd4000002u | (EndImm << 5);

    public const int RegsWords = 100;
    public const int RegsFpcr = 264;
    public const int RegsFpsr = 272;
    public const int RegsV = 288;
    public const int MaxChunks = 64;
}
