using Jit.Runtime.Memory;

namespace Jit.Hypervisor.Memory;

/// <summary>What a range of the machine address space holds.</summary>
public enum MachineRegionKind
{
    /// <summary>A RAM bank of a domain: the secure world may read and write it when the domain shares it.</summary>
    DomainRam,
    /// <summary>Pages of the hypervisor's own that it shares with the secure world (the TEE mediator's shadows).</summary>
    HypervisorShared,
    /// <summary>The machine's device registers: never memory the normal world can hand to the secure world.</summary>
    Device,
}

/// <summary>
/// One range of a host's machine address space and the host memory behind it. Immutable: the map replaces its
/// table whole, so a reader holds a consistent snapshot without a lock.
/// </summary>
public sealed unsafe class MachineRegion
{
    internal MachineRegion(MachineRegionKind kind, ulong @base, ulong size, byte* host, int domId = -1, PhysicalMemory? ram = null,
        ulong ipaBase = 0)
    {
        Kind = kind;
        Base = @base;
        Size = size;
        Host = host;
        DomId = domId;
        Ram = ram;
        IpaBase = ipaBase;
    }

    public MachineRegionKind Kind { get; }
    public ulong Base { get; }
    public ulong Size { get; }
    public ulong End => Base + Size;

    /// <summary>The host memory behind <see cref="Base"/>; null for device registers.</summary>
    public byte* Host { get; }

    /// <summary>The domain whose RAM this is; -1 for the hypervisor's and the machine's own.</summary>
    public int DomId { get; }

    /// <summary>The domain's RAM and where this bank sits in its IPA space: a secure-world write into translated code must drop that code.</summary>
    internal PhysicalMemory? Ram { get; }
    internal ulong IpaBase { get; }
}
