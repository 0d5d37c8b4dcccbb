using Jit.Runtime.Memory;

namespace Jit.Hypervisor.Memory;

/// <summary>
/// One domain's RAM in its host's machine address space: the machine ranges its banks got, and the translation
/// of its IPAs to machine addresses that the TEE mediator does before anything reaches the secure world. A page
/// translates only if the domain's p2m maps it as the domain's own RAM (<see cref="P2mType.Ram"/>) backed by one
/// of its own banks: never a device, a read-only page, a page lent by another domain, or a hole.
/// </summary>
public sealed unsafe class DomainMachineRam
{
    private readonly MachineRegion[] banks;
    private readonly P2m p2m;

    internal DomainMachineRam(MachineMemoryMap map, int domId, PhysicalMemory ram)
    {
        Map = map;
        DomId = domId;
        p2m = ram.P2m;
        banks = [.. map.MapDomainRam(domId, ram)];
    }

    public MachineMemoryMap Map { get; }
    public int DomId { get; }
    public IReadOnlyList<MachineRegion> Banks => banks;

    /// <summary>The machine address of <paramref name="ipa"/> if its page is the domain's own writable RAM.</summary>
    public bool TryTranslate(ulong ipa, out ulong machine)
    {
        machine = 0;
        if (p2m.TypeOf(ipa) != P2mType.Ram) return false;
        byte* host = p2m.Writable(ipa);
        if (host == null) return false;
        foreach (var bank in banks)
        {
            ulong offset = (ulong)(host - bank.Host);
            if (offset < bank.Size)
            {
                machine = bank.Base + offset;
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether every page of [<paramref name="ipa"/>, +<paramref name="length"/>) is the domain's own RAM.</summary>
    public bool IsOwnRam(ulong ipa, ulong length)
    {
        if (length == 0) return true;
        if (ipa > ulong.MaxValue - length) return false;
        for (ulong page = ipa & ~0xFFFUL; page < ipa + length; page += 4096)
            if (!TryTranslate(page, out _)) return false;
        return true;
    }

    /// <summary>Takes the banks out of the machine address space: after VM_DESTROYED, before the RAM is freed.</summary>
    internal void Unmap() => Map.Unmap(banks);
}
