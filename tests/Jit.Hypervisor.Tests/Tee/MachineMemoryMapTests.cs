using Jit.Hypervisor.Memory;
using Jit.Runtime.Memory;
using Jit.SecureWorld;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>The host's machine address space as the secure world sees it.</summary>
public class MachineMemoryMapTests
{
    [Fact]
    public void DomainBanksGetDistinctRangesAndUnmappedOrDeviceAddressesAreRefused()
    {
        var map = new MachineMemoryMap();
        using var one = new PhysicalMemory();
        using var two = new PhysicalMemory();
        one.AddRam(0x4000_0000, 3 << 20);
        two.AddRam(0x4000_0000, 1 << 20);
        two.AddRam(0x8000_0000, 1 << 20);
        var a = map.MapDomainRam(1, one);
        var b = map.MapDomainRam(2, two);
        Assert.Equal(3, a.Count + b.Count);
        var all = a.Concat(b).OrderBy(r => r.Base).ToArray();
        for (int i = 1; i < all.Length; i++) Assert.True(all[i - 1].End <= all[i].Base);
        Assert.All(all, r => Assert.True(r.Base >= MachineMemoryMap.RamStart && r.Base % MachineMemoryMap.Granule == 0));

        Span<byte> buffer = stackalloc byte[16];
        Assert.Equal(MemoryStatus.Forbidden, map.Read(0x0900_0000, buffer));
        Assert.Equal(MemoryStatus.Forbidden, map.Check(MachineMemoryMap.DeviceWindowEnd - 8, 16));
        Assert.Equal(MemoryStatus.Unmapped, map.Read(MachineMemoryMap.DeviceWindowEnd, buffer));
        // A range running off the end of a bank into the gap is refused whole, and nothing is written.
        ulong end = a[0].End;
        Assert.Equal(MemoryStatus.Unmapped, map.Write(end - 8, new byte[16]));
        Assert.Equal(MemoryStatus.Unmapped, map.Check(ulong.MaxValue - 4, 16));

        map.Write(a[0].Base + 0x1000, "machine"u8);
        var seen = new byte[7];
        one.Read(0x4000_1000, seen);
        Assert.Equal("machine"u8.ToArray(), seen);
    }

    [Fact]
    public void UnmappedRangesAreNotReusedWhileFreshSpaceLasts()
    {
        var map = new MachineMemoryMap();
        using var ram = new PhysicalMemory();
        ram.AddRam(0x4000_0000, 1 << 20);
        var first = map.MapDomainRam(1, ram);
        map.Unmap(first);
        Assert.Equal(MemoryStatus.Unmapped, map.Check(first[0].Base, 8));
        var second = map.MapDomainRam(1, ram);
        Assert.NotEqual(first[0].Base, second[0].Base);
    }

    [Fact]
    public void TheAllocatorReusesFreedRangesOnlyWhenFreshSpaceIsGone()
    {
        var allocator = new MachineRangeAllocator(0, 8 << 20, 2 << 20);
        var r1 = allocator.Allocate(2 << 20)!.Value;
        var r2 = allocator.Allocate(4 << 20)!.Value;
        allocator.Free(r1.Base, r1.Size);
        var r3 = allocator.Allocate(2 << 20)!.Value;
        Assert.Equal(6UL << 20, r3.Base);
        allocator.Free(r2.Base, r2.Size);
        // Freed neighbours coalesce: 6 MiB from 0.
        var r4 = allocator.Allocate(6 << 20)!.Value;
        Assert.Equal(0UL, r4.Base);
        Assert.Null(allocator.Allocate(2 << 20));
    }

    [Fact]
    public void SharedPagesAreMemoryUntilFreed()
    {
        var map = new MachineMemoryMap();
        var shared = map.AllocateShared(8192);
        Assert.Equal(MachineRegionKind.HypervisorShared, shared.Kind);
        Assert.Equal(MemoryStatus.Ok, map.Write(shared.Base + 4090, "across"u8));
        var back = new byte[6];
        Assert.Equal(MemoryStatus.Ok, map.Read(shared.Base + 4090, back));
        Assert.Equal("across"u8.ToArray(), back);
        map.FreeShared(shared);
        Assert.Equal(MemoryStatus.Unmapped, map.Read(shared.Base, back));
        map.FreeShared(shared);
    }
}
