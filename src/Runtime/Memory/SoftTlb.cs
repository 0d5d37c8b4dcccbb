using System.Runtime.InteropServices;

namespace Jit.Runtime.Memory;

/// <summary>A soft-TLB entry: the page-aligned VA it maps (or <see cref="SoftTlb.Invalid"/>) and VA→host addend.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TlbEntry
{
    public ulong Tag;
    public long Addend;
}

/// <summary>
/// The per-vCPU soft TLB of the design: one direct-mapped table per access kind and per regime (EL0, EL1), in
/// native memory so that compiled code can index it; entry (el &lt;&lt; IndexBits) | ((va &gt;&gt; 12) &amp; mask). A hit
/// means stage 1, stage 2 and the permissions of that EL all allow the access and the page is plain RAM.
/// </summary>
public sealed unsafe class SoftTlb : IDisposable
{
    public const int IndexBits = 10;
    public const int Entries = 1 << IndexBits;
    public const int Regimes = 2;
    public const int TotalEntries = Entries * Regimes;
    public const ulong Invalid = ulong.MaxValue;

    public TlbEntry* Read { get; }
    public TlbEntry* Write { get; }
    public TlbEntry* Fetch { get; }

    /// <summary>
    /// Counts flushes, whole or by page: a translation remembered outside the TLB (the dispatcher's jump cache)
    /// is still the guest's while the generation it was remembered under is current.
    /// </summary>
    public uint Generation { get; private set; }

    public SoftTlb()
    {
        Read = Allocate();
        Write = Allocate();
        Fetch = Allocate();
        ClearAll();
    }

    // The entries filled since the last flush, so that a flush (every context switch, as TTBR writes flush)
    // clears those rather than all three tables: clearing 6,144 entries was 2.4% of a boot's vCPU samples.
    // Beyond the log's capacity a flush clears everything.
    private const int LogCapacity = 512;
    private readonly nint[] filled = new nint[LogCapacity];
    private int filledCount;

    /// <summary>Records that <paramref name="e"/> (an entry of any of the tables) now holds a translation.</summary>
    public void NoteFill(TlbEntry* e)
    {
        if (filledCount < LogCapacity) filled[filledCount] = (nint)e;
        if (filledCount <= LogCapacity) filledCount++;
    }

    private static TlbEntry* Allocate() => (TlbEntry*)NativeMemory.AlignedAlloc((nuint)(TotalEntries * sizeof(TlbEntry)), 64);

    public static int Index(ulong va, uint el) => (int)((va >> 12) & (Entries - 1)) | ((int)el << IndexBits);

    public void Flush()
    {
        Generation++;
        if (filledCount > LogCapacity)
        {
            ClearAll();
            return;
        }
        for (int i = 0; i < filledCount; i++) ((TlbEntry*)filled[i])->Tag = Invalid;
        filledCount = 0;
    }

    private void ClearAll()
    {
        filledCount = 0;
        for (int i = 0; i < TotalEntries; i++)
        {
            Read[i].Tag = Invalid;
            Write[i].Tag = Invalid;
            Fetch[i].Tag = Invalid;
        }
    }

    public void FlushPage(ulong va)
    {
        Generation++;
        ulong page = va & ~0xFFFUL;
        for (uint el = 0; el < Regimes; el++)
        {
            int i = Index(va, el);
            if (Read[i].Tag == page) Read[i].Tag = Invalid;
            if (Write[i].Tag == page) Write[i].Tag = Invalid;
            if (Fetch[i].Tag == page) Fetch[i].Tag = Invalid;
        }
    }

    /// <summary>Drops write entries whose host page is <paramref name="hostPage"/> (a page that now holds code).</summary>
    public void FlushWritesToHostPage(byte* hostPage)
    {
        for (int i = 0; i < TotalEntries; i++)
        {
            ref TlbEntry e = ref Write[i];
            if (e.Tag != Invalid && (byte*)((long)e.Tag + e.Addend) == hostPage) e.Tag = Invalid;
        }
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(Read);
        NativeMemory.AlignedFree(Write);
        NativeMemory.AlignedFree(Fetch);
    }
}
