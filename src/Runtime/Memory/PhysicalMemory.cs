using System.Runtime.InteropServices;
using Jit.Runtime.Startup;

namespace Jit.Runtime.Memory;

/// <summary>One bank of guest RAM backed by native memory.</summary>
public sealed unsafe class RamBank
{
    public ulong Base { get; }
    public ulong Size { get; }
    public byte* Host { get; }

    /// <summary>
    /// For each 4 KiB page, one bit per 64-byte chunk that decoded blocks cover. A page with any bit set stays
    /// out of the write TLB; only writes into marked chunks drop code, so data that shares a page with code
    /// does not throw the page's blocks away.
    /// </summary>
    internal readonly ulong[] CodeChunks;

    // What the allocator returned; Host is its first page boundary.
    private readonly void* allocation;

    internal RamBank(ulong @base, ulong size)
    {
        Base = @base;
        Size = size;
        // A zeroed allocation this large is fresh anonymous memory that the C library need not clear, so the
        // host backs only the pages the guest touches, as QEMU's RAM does. Aligned allocation and an explicit
        // clear touched all of a 512 MiB guest's RAM before it started: about a tenth of a boot's vCPU-thread
        // samples, in memset and the kernel's page faults.
        allocation = NativeMemory.AllocZeroed((nuint)size + 4096);
        Host = (byte*)(((nuint)allocation + 4095) & ~(nuint)4095);
        CodeChunks = new ulong[(size + 4095) >> 12];
    }

    internal void Free() => NativeMemory.Free(allocation);
}

/// <summary>
/// The guest-physical RAM of a domain and its stage-2 translation (<see cref="P2m"/>), through which every
/// access the CPU core and the devices make is looked up. Addresses the p2m does not map as memory are either
/// claimed by a device through the <see cref="IMmioBus"/> or unbacked.
/// </summary>
[CompiledEarly]
public sealed unsafe class PhysicalMemory : IDisposable
{
    private RamBank[] banks = [];

    /// <summary>The domain's stage 2: IPA page → host page and type.</summary>
    public P2m P2m { get; } = new();

    public IReadOnlyList<RamBank> Banks => banks;

    /// <summary>
    /// Raised when a write reaches chunks that hold decoded code: the physical page address and the mask of
    /// its 64-byte chunks that were written (their marks are cleared; blocks covering them must go).
    /// </summary>
    public event Action<ulong, ulong>? CodeWritten;

    public RamBank AddRam(ulong @base, ulong size)
    {
        if ((@base | size) % 4096 != 0 || size == 0)
            throw new ArgumentException($"RAM bank 0x{@base:x}+0x{size:x} is not page aligned");
        foreach (var b in banks)
            if (@base < b.Base + b.Size && b.Base < @base + size)
                throw new ArgumentException($"RAM bank 0x{@base:x}+0x{size:x} overlaps 0x{b.Base:x}");
        if (@base + size > P2m.IpaLimit || @base + size < @base)
            throw new ArgumentException($"RAM bank 0x{@base:x}+0x{size:x} lies beyond the {P2m.IpaBits}-bit IPA space");
        var bank = new RamBank(@base, size);
        banks = [.. banks, bank];
        P2m.Map(@base, size, bank.Host, P2mType.Ram);
        return bank;
    }

    public RamBank? FindBank(ulong pa)
    {
        foreach (var b in banks)
            if (pa - b.Base < b.Size) return b;
        return null;
    }

    /// <summary>The host address of guest-physical <paramref name="pa"/>, or null when the domain may not read it as memory.</summary>
    public byte* HostAddress(ulong pa) => P2m.Readable(pa);

    /// <summary>The host address of guest-physical <paramref name="pa"/>, or null when the domain may not write it as memory.</summary>
    public byte* WritableHostAddress(ulong pa) => P2m.Writable(pa);

    /// <summary>Copies <paramref name="data"/> into RAM at <paramref name="pa"/>; the whole range must be RAM.</summary>
    public void Write(ulong pa, ReadOnlySpan<byte> data)
    {
        var bank = FindBank(pa);
        if (bank is null || pa - bank.Base + (ulong)data.Length > bank.Size)
            throw new ArgumentOutOfRangeException(nameof(pa), $"0x{pa:x}+0x{data.Length:x} is not inside one RAM bank");
        data.CopyTo(new Span<byte>(bank.Host + (pa - bank.Base), data.Length));
    }

    public void Read(ulong pa, Span<byte> data)
    {
        var bank = FindBank(pa);
        if (bank is null || pa - bank.Base + (ulong)data.Length > bank.Size)
            throw new ArgumentOutOfRangeException(nameof(pa), $"0x{pa:x}+0x{data.Length:x} is not inside one RAM bank");
        new ReadOnlySpan<byte>(bank.Host + (pa - bank.Base), data.Length).CopyTo(data);
    }

    public bool IsCodePage(ulong pa)
    {
        var bank = FindBank(pa);
        return bank is not null && Volatile.Read(ref bank.CodeChunks[(pa - bank.Base) >> 12]) != 0;
    }

    /// <summary>The chunk bits of [pa, pa + length) within pa's page.</summary>
    public static ulong ChunkMask(ulong pa, int length)
    {
        int first = (int)((pa & 0xFFF) >> 6);
        int last = (int)Math.Min(((pa & 0xFFF) + (ulong)Math.Max(length, 1) - 1) >> 6, 63);
        ulong upTo = last == 63 ? ulong.MaxValue : (1UL << (last + 1)) - 1;
        return upTo & ~((1UL << first) - 1);
    }

    /// <summary>
    /// Raised with the physical page address when a page that held no code gets its first decoded block: every
    /// vCPU must stop writing to it through its write TLB, so that writes into its code reach the slow path.
    /// </summary>
    public event Action<ulong>? BecameCode;

    /// <summary>Marks [pa, pa + length) as holding decoded code.</summary>
    public void MarkCode(ulong pa, int length)
    {
        var bank = FindBank(pa);
        if (bank is null) return;
        ulong before = Interlocked.Or(ref bank.CodeChunks[(pa - bank.Base) >> 12], ChunkMask(pa, length));
        if (before == 0) BecameCode?.Invoke(pa & ~0xFFFUL);
    }

    /// <summary>Called by the slow write path before a write of <paramref name="size"/> bytes lands on a page that holds code.</summary>
    public void NotifyCodeWrite(ulong pa, int size)
    {
        var bank = FindBank(pa);
        if (bank is null) return;
        ulong bits = ChunkMask(pa, size);
        ulong hit = Interlocked.And(ref bank.CodeChunks[(pa - bank.Base) >> 12], ~bits) & bits;
        if (hit != 0) CodeWritten?.Invoke(pa & ~0xFFFUL, hit);
    }

    public void Dispose()
    {
        foreach (var b in banks)
        {
            P2m.Unmap(b.Base, b.Size);
            b.Free();
        }
        banks = [];
    }
}
