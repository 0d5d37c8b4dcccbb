namespace Jit.SecureWorld.Optee;

/// <summary>
/// A memory reference as a trusted application sees it: <see cref="Length"/> bytes of normal-world memory,
/// contiguous at a machine address or spread over registered pages, or null. Every access is bounds-checked
/// against the reference and returns false rather than reach past it.
/// </summary>
public readonly struct SharedBuffer
{
    private readonly IMachineMemory? memory;
    private readonly SharedMemory? pages;
    private readonly ulong start;

    public ulong Length { get; }

    /// <summary>A null memory reference (no buffer; its size may still say how much the TA wanted).</summary>
    public bool IsNull => memory is null;

    private SharedBuffer(IMachineMemory? memory, SharedMemory? pages, ulong start, ulong length)
    {
        this.memory = memory;
        this.pages = pages;
        this.start = start;
        Length = length;
    }

    internal static SharedBuffer Contiguous(IMachineMemory memory, ulong address, ulong length) => new(memory, null, address, length);

    internal static SharedBuffer Registered(IMachineMemory memory, SharedMemory pages, ulong offset, ulong length) =>
        new(memory, pages, offset, length);

    internal bool Uses(SharedMemory shm) => ReferenceEquals(pages, shm);

    public bool Read(ulong offset, Span<byte> destination)
    {
        if (!Fits(offset, destination.Length)) return false;
        return pages is null
            ? memory!.Read(start + offset, destination) == MemoryStatus.Ok
            : pages.Read(memory!, start + offset, destination) == MemoryStatus.Ok;
    }

    public bool Write(ulong offset, ReadOnlySpan<byte> source)
    {
        if (!Fits(offset, source.Length)) return false;
        return pages is null
            ? memory!.Write(start + offset, source) == MemoryStatus.Ok
            : pages.Write(memory!, start + offset, source) == MemoryStatus.Ok;
    }

    private bool Fits(ulong offset, int length) =>
        memory is not null && offset <= Length && (ulong)length <= Length - offset;
}
