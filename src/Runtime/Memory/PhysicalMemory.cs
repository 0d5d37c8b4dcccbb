using System.Runtime.InteropServices;

namespace Jit.Runtime.Memory;

/// <summary>One bank of guest RAM backed by native memory.</summary>
public sealed unsafe class RamBank
{
    public ulong Base { get; }
    public ulong Size { get; }
    public byte* Host { get; }

    /// <summary>One byte per 4 KiB page: non-zero when decoded blocks were made from this page.</summary>
    internal readonly byte[] CodePages;

    internal RamBank(ulong @base, ulong size)
    {
        Base = @base;
        Size = size;
        Host = (byte*)NativeMemory.AlignedAlloc((nuint)size, 4096);
        NativeMemory.Clear(Host, (nuint)size);
        CodePages = new byte[(size + 4095) >> 12];
    }

    internal void Free() => NativeMemory.AlignedFree(Host);
}

/// <summary>
/// The guest-physical RAM of a domain. Only RAM lives here; everything else in the physical address space is
/// either claimed by a device through the <see cref="IMmioBus"/> or unbacked.
/// </summary>
public sealed unsafe class PhysicalMemory : IDisposable
{
    private RamBank[] banks = [];

    public IReadOnlyList<RamBank> Banks => banks;

    /// <summary>Raised with the physical page address when a write reaches a page that holds decoded code.</summary>
    public event Action<ulong>? CodePageWritten;

    public RamBank AddRam(ulong @base, ulong size)
    {
        if ((@base | size) % 4096 != 0 || size == 0)
            throw new ArgumentException($"RAM bank 0x{@base:x}+0x{size:x} is not page aligned");
        foreach (var b in banks)
            if (@base < b.Base + b.Size && b.Base < @base + size)
                throw new ArgumentException($"RAM bank 0x{@base:x}+0x{size:x} overlaps 0x{b.Base:x}");
        var bank = new RamBank(@base, size);
        banks = [.. banks, bank];
        return bank;
    }

    public RamBank? FindBank(ulong pa)
    {
        foreach (var b in banks)
            if (pa - b.Base < b.Size) return b;
        return null;
    }

    /// <summary>The host address of guest-physical <paramref name="pa"/>, or null when it is not RAM.</summary>
    public byte* HostAddress(ulong pa)
    {
        foreach (var b in banks)
            if (pa - b.Base < b.Size) return b.Host + (pa - b.Base);
        return null;
    }

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
        return bank is not null && bank.CodePages[(pa - bank.Base) >> 12] != 0;
    }

    public void MarkCodePage(ulong pa)
    {
        var bank = FindBank(pa);
        if (bank is not null) bank.CodePages[(pa - bank.Base) >> 12] = 1;
    }

    /// <summary>Called by the slow write path before a write lands on a page marked as code.</summary>
    public void NotifyCodeWrite(ulong pa)
    {
        var bank = FindBank(pa);
        if (bank is null) return;
        ref byte mark = ref bank.CodePages[(pa - bank.Base) >> 12];
        if (mark == 0) return;
        mark = 0;
        CodePageWritten?.Invoke(pa & ~0xFFFUL);
    }

    public void Dispose()
    {
        foreach (var b in banks) b.Free();
        banks = [];
    }
}
