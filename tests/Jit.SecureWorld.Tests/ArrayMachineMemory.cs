namespace Jit.SecureWorld.Tests;

/// <summary>Normal-world RAM for tests: one array at a machine address, with an optional forbidden window (MMIO).</summary>
public sealed class ArrayMachineMemory(ulong baseAddress, int size) : IMachineMemory
{
    public ulong Base { get; } = baseAddress;
    public byte[] Bytes { get; } = new byte[size];
    public ulong End => Base + (ulong)Bytes.Length;

    /// <summary>A range inside RAM the secure world must not touch, as a hypervisor would refuse MMIO.</summary>
    public (ulong Start, ulong End) Forbidden { get; set; }

    public MemoryStatus Check(ulong address, ulong length)
    {
        if (address < Base || address > End || length > End - address) return MemoryStatus.Unmapped;
        if (address < Forbidden.End && address + length > Forbidden.Start) return MemoryStatus.Forbidden;
        return MemoryStatus.Ok;
    }

    public MemoryStatus Read(ulong address, Span<byte> destination)
    {
        var status = Check(address, (ulong)destination.Length);
        if (status == MemoryStatus.Ok) Bytes.AsSpan((int)(address - Base), destination.Length).CopyTo(destination);
        return status;
    }

    public MemoryStatus Write(ulong address, ReadOnlySpan<byte> source)
    {
        var status = Check(address, (ulong)source.Length);
        if (status == MemoryStatus.Ok) source.CopyTo(Bytes.AsSpan((int)(address - Base), source.Length));
        return status;
    }

    public Span<byte> At(ulong address, int length) => Bytes.AsSpan((int)(address - Base), length);
}
