using System.Runtime.InteropServices;
using Jit.Runtime.Memory;
using Jit.SecureWorld;

namespace Jit.Hypervisor.Memory;

/// <summary>
/// A host's machine (physical) address space, the only view the secure world has of normal-world memory: each
/// domain's RAM banks at machine frames of their own (<see cref="MapDomainRam"/>), the hypervisor's pages it
/// shares with the secure world (<see cref="AllocateShared"/>), and the machine's device window, which is never
/// memory. One per host, never static: two hosts in one process (tests) have two machines.
/// </summary>
/// <remarks>
/// <para>Layout: device registers in [0, <see cref="DeviceWindowEnd"/>), forbidden; RAM and shared pages from
/// <see cref="RamStart"/> up, in 2 MiB-aligned ranges from a <see cref="MachineRangeAllocator"/>; anything else is
/// unmapped.</para>
/// <para>Accesses never throw and never lock: the region table is replaced whole under a lock and read as a
/// snapshot. A range is unmapped only after the secure world has let go of its owner (VM_DESTROYED for a domain,
/// the mediator's teardown for its shadows), and its host memory is freed only after that.</para>
/// </remarks>
public sealed unsafe class MachineMemoryMap : IMachineMemory
{
    public const ulong DeviceWindowEnd = 0x4000_0000;
    public const ulong RamStart = 0x10_0000_0000;
    /// <summary>A 48-bit physical address space, as an Armv8.0 machine with 4 KiB pages has.</summary>
    public const ulong AddressLimit = 1UL << 48;
    public const ulong Granule = 2UL << 20;

    private readonly Lock gate = new();
    private readonly MachineRangeAllocator allocator = new(RamStart, AddressLimit, Granule);
    private MachineRegion[] regions = [new(MachineRegionKind.Device, 0, DeviceWindowEnd, null)];

    /// <summary>The regions, sorted by base.</summary>
    public IReadOnlyList<MachineRegion> Regions => Volatile.Read(ref regions);

    /// <summary>Gives each RAM bank of <paramref name="ram"/> a machine range of its own.</summary>
    /// <exception cref="InvalidOperationException">The machine address space is full.</exception>
    public IReadOnlyList<MachineRegion> MapDomainRam(int domId, PhysicalMemory ram)
    {
        var mapped = new List<MachineRegion>();
        lock (gate)
        {
            foreach (var bank in ram.Banks)
            {
                var range = allocator.Allocate(bank.Size) ?? throw new InvalidOperationException("the machine address space is full");
                mapped.Add(new MachineRegion(MachineRegionKind.DomainRam, range.Base, bank.Size, bank.Host, domId, ram, bank.Base));
            }
            Publish([.. regions, .. mapped]);
        }
        return mapped;
    }

    /// <summary>
    /// <paramref name="size"/> bytes (a multiple of 4 KiB) of zeroed hypervisor memory at a machine range of their
    /// own, which the secure world may read and write. Give them back with <see cref="FreeShared"/>.
    /// </summary>
    public MachineRegion AllocateShared(ulong size)
    {
        if (size == 0 || size % 4096 != 0) throw new ArgumentException("shared pages: a positive multiple of 4 KiB", nameof(size));
        byte* host = (byte*)NativeMemory.AlignedAlloc((nuint)size, 4096);
        new Span<byte>(host, checked((int)size)).Clear();
        lock (gate)
        {
            var range = allocator.Allocate(size);
            if (range is null)
            {
                NativeMemory.AlignedFree(host);
                throw new InvalidOperationException("the machine address space is full");
            }
            var region = new MachineRegion(MachineRegionKind.HypervisorShared, range.Value.Base, size, host);
            Publish([.. regions, region]);
            return region;
        }
    }

    /// <summary>Unmaps a domain's banks; the caller frees their memory afterwards, and only after the secure world let go of it.</summary>
    public void Unmap(IEnumerable<MachineRegion> mapped)
    {
        lock (gate)
        {
            var gone = mapped.Where(r => Array.IndexOf(regions, r) >= 0).ToArray();
            Publish([.. regions.Except(gone)]);
            foreach (var r in gone) allocator.Free(r.Base, (r.Size + Granule - 1) & ~(Granule - 1));
        }
    }

    /// <summary>Unmaps and frees pages from <see cref="AllocateShared"/>.</summary>
    public void FreeShared(MachineRegion region)
    {
        if (region.Kind != MachineRegionKind.HypervisorShared) throw new ArgumentException("not a shared region", nameof(region));
        bool mapped;
        lock (gate)
        {
            mapped = Array.IndexOf(regions, region) >= 0;
            if (mapped)
            {
                Publish([.. regions.Where(r => r != region)]);
                allocator.Free(region.Base, (region.Size + Granule - 1) & ~(Granule - 1));
            }
        }
        if (mapped) NativeMemory.AlignedFree(region.Host);
    }

    private void Publish(MachineRegion[] table)
    {
        Array.Sort(table, (a, b) => a.Base.CompareTo(b.Base));
        Volatile.Write(ref regions, table);
    }

    /// <summary>The region holding <paramref name="address"/>, or null.</summary>
    public MachineRegion? Find(ulong address) => Find(Volatile.Read(ref regions), address);

    private static MachineRegion? Find(MachineRegion[] table, ulong address)
    {
        int lo = 0, hi = table.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var r = table[mid];
            if (address < r.Base) hi = mid - 1;
            else if (address - r.Base >= r.Size) lo = mid + 1;
            else return r;
        }
        return null;
    }

    public MemoryStatus Check(ulong address, ulong length) => Check(Volatile.Read(ref regions), address, length);

    public MemoryStatus Read(ulong address, Span<byte> destination)
    {
        var table = Volatile.Read(ref regions);
        var status = Check(table, address, (ulong)destination.Length);
        if (status != MemoryStatus.Ok) return status;
        while (!destination.IsEmpty)
        {
            var r = Find(table, address)!;
            ulong offset = address - r.Base;
            int chunk = (int)Math.Min((ulong)destination.Length, r.Size - offset);
            new ReadOnlySpan<byte>(r.Host + offset, chunk).CopyTo(destination);
            destination = destination[chunk..];
            address += (ulong)chunk;
        }
        return MemoryStatus.Ok;
    }

    public MemoryStatus Write(ulong address, ReadOnlySpan<byte> source)
    {
        var table = Volatile.Read(ref regions);
        var status = Check(table, address, (ulong)source.Length);
        if (status != MemoryStatus.Ok) return status;
        while (!source.IsEmpty)
        {
            var r = Find(table, address)!;
            ulong offset = address - r.Base;
            int chunk = (int)Math.Min((ulong)source.Length, r.Size - offset);
            if (r.Ram is { } ram) NotifyCode(ram, r.IpaBase + offset, chunk);
            source[..chunk].CopyTo(new Span<byte>(r.Host + offset, chunk));
            source = source[chunk..];
            address += (ulong)chunk;
        }
        return MemoryStatus.Ok;
    }

    private static MemoryStatus Check(MachineRegion[] table, ulong address, ulong length)
    {
        if (address > ulong.MaxValue - length) return MemoryStatus.Unmapped;
        ulong end = address + length;
        while (address < end)
        {
            var r = Find(table, address);
            if (r is null) return MemoryStatus.Unmapped;
            if (r.Kind == MachineRegionKind.Device) return MemoryStatus.Forbidden;
            address = r.End;
        }
        return MemoryStatus.Ok;
    }

    /// <summary>A write the secure world makes into a domain's translated code drops that code, as a device's DMA does.</summary>
    private static void NotifyCode(PhysicalMemory ram, ulong ipa, int length)
    {
        while (length > 0)
        {
            int inPage = (int)Math.Min((ulong)length, 4096 - (ipa & 0xFFF));
            if (ram.IsCodePage(ipa)) ram.NotifyCodeWrite(ipa, inPage);
            ipa += (ulong)inPage;
            length -= inPage;
        }
    }
}
