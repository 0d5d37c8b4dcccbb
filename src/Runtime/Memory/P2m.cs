using Jit.Runtime.Startup;

namespace Jit.Runtime.Memory;

/// <summary>What a page of a domain's intermediate physical address space is (Xen's p2m types, those we need).</summary>
public enum P2mType : byte
{
    /// <summary>Nothing: an access is a stage-2 fault, which the guest sees as an external abort.</summary>
    None = 0,
    /// <summary>The domain's own RAM, readable, writable and executable.</summary>
    Ram = 1,
    /// <summary>RAM the domain may read and execute but not write.</summary>
    RamReadOnly = 2,
    /// <summary>A page another domain's RAM lends (a foreign mapping or a grant); writable.</summary>
    Foreign = 3,
    /// <summary>An emulated device's registers: every access traps to the hypervisor's MMIO map.</summary>
    MmioTrap = 4,
    /// <summary>A window of an assigned device, reached directly.</summary>
    DeviceAssigned = 5,
}

/// <summary>
/// A domain's stage-2 translation: for every 4 KiB page of its IPA space, the host page behind it and its type.
/// Page-granular, as Xen's p2m is, so later issues can lend single frames (grants, foreign mappings) and map
/// device windows. The table is three levels of arrays (1 GiB, 2 MiB, 4 KiB), created as pages are mapped; a
/// lookup is three dependent loads and never locks. Only the TLB-miss path and device accesses look here.
/// </summary>
[CompiledEarly]
public sealed unsafe class P2m
{
    /// <summary>The IPA size: 40 bits, Xen's default for arm64 guests (RAM bank 1 ends below 1 TiB).</summary>
    public const int IpaBits = 40;
    public const ulong IpaLimit = 1UL << IpaBits;

    private const int PageShift = 12, LeafShift = 21, MidShift = 30;
    private const ulong TypeMask = 0xFFF;

    // Entry: the host page address (4 KiB aligned) | type; 0 = unmapped.
    private readonly ulong[]?[]?[] root = new ulong[]?[]?[IpaLimit >> MidShift];
    private readonly object gate = new();

    /// <summary>
    /// Raised after any change: every vCPU of the domain must drop what its TLB cached before it runs on (it
    /// caches "not RAM" too, as entries that send accesses to the MMIO map).
    /// </summary>
    public event Action? Changed;

    /// <summary>Bumped by every <see cref="Changed"/>: a VMID generation for whoever caches translations.</summary>
    public long Generation { get; private set; }

    /// <summary>Maps [<paramref name="ipa"/>, +<paramref name="size"/>) to host memory from <paramref name="host"/> on.</summary>
    public void Map(ulong ipa, ulong size, byte* host, P2mType type)
    {
        if (((ipa | size | (ulong)host) & TypeMask) != 0 || size == 0 || ipa + size > IpaLimit || ipa + size < ipa)
            throw new ArgumentException($"p2m: 0x{ipa:x}+0x{size:x} is not a page-aligned range of the {IpaBits}-bit IPA space");
        if (type == P2mType.None) throw new ArgumentException("p2m: map with type None; use Unmap", nameof(type));
        lock (gate)
        {
            for (ulong off = 0; off < size; off += 4096)
                Volatile.Write(ref Slot(ipa + off, create: true), ((ulong)host + off) | (ulong)type);
            Generation++;
        }
        Changed?.Invoke();
    }

    /// <summary>Removes every mapping in [<paramref name="ipa"/>, +<paramref name="size"/>).</summary>
    public void Unmap(ulong ipa, ulong size)
    {
        if (((ipa | size) & TypeMask) != 0 || ipa + size > IpaLimit || ipa + size < ipa)
            throw new ArgumentException($"p2m: 0x{ipa:x}+0x{size:x} is not a page-aligned range of the {IpaBits}-bit IPA space");
        bool removed = false;
        lock (gate)
        {
            for (ulong off = 0; off < size; off += 4096)
            {
                ref ulong e = ref Slot(ipa + off, create: false);
                if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref e) || e == 0) continue;
                removed = true;
                Volatile.Write(ref e, 0);
            }
            if (removed) Generation++;
        }
        if (removed) Changed?.Invoke();
    }

    /// <summary>The type of the page holding <paramref name="ipa"/>.</summary>
    public P2mType TypeOf(ulong ipa) => (P2mType)(Entry(ipa) & TypeMask);

    /// <summary>The host address of <paramref name="ipa"/> if its page is memory the guest may read, else null.</summary>
    public byte* Readable(ulong ipa)
    {
        ulong e = Entry(ipa);
        var type = (P2mType)(e & TypeMask);
        return type is P2mType.Ram or P2mType.RamReadOnly or P2mType.Foreign ? (byte*)(e & ~TypeMask) + (ipa & TypeMask) : null;
    }

    /// <summary>The host address of <paramref name="ipa"/> if its page is memory the guest may write, else null.</summary>
    public byte* Writable(ulong ipa)
    {
        ulong e = Entry(ipa);
        var type = (P2mType)(e & TypeMask);
        return type is P2mType.Ram or P2mType.Foreign ? (byte*)(e & ~TypeMask) + (ipa & TypeMask) : null;
    }

    private ulong Entry(ulong ipa)
    {
        if (ipa >= IpaLimit) return 0;
        var mid = Volatile.Read(ref root[ipa >> MidShift]);
        if (mid is null) return 0;
        var leaf = Volatile.Read(ref mid[(ipa >> LeafShift) & 511]);
        return leaf is null ? 0 : Volatile.Read(ref leaf[(ipa >> PageShift) & 511]);
    }

    private ref ulong Slot(ulong ipa, bool create)
    {
        ref var mid = ref root[ipa >> MidShift];
        if (mid is null)
        {
            if (!create) return ref System.Runtime.CompilerServices.Unsafe.NullRef<ulong>();
            Volatile.Write(ref mid, new ulong[]?[512]);
        }
        ref var leaf = ref mid![(ipa >> LeafShift) & 511];
        if (leaf is null)
        {
            if (!create) return ref System.Runtime.CompilerServices.Unsafe.NullRef<ulong>();
            Volatile.Write(ref leaf, new ulong[512]);
        }
        return ref leaf![(ipa >> PageShift) & 511];
    }
}
