using Jit.Devices;

namespace Jit.Hypervisor.Tests;

public class MmioMapTests
{
    /// <summary>Records the offsets it sees; rejects accesses at offset 0xBAD.</summary>
    private sealed class ScratchDevice(string name, ulong size) : IMmioDevice
    {
        public readonly List<(ulong Offset, int Size, ulong Value)> Writes = [];
        public string Name => name;
        public ulong WindowSize => size;

        public bool Read(ulong offset, int size, out ulong value)
        {
            value = offset + 0x1000;
            return offset != 0xBAD;
        }

        public bool Write(ulong offset, int size, ulong value)
        {
            Writes.Add((offset, size, value));
            return offset != 0xBAD;
        }
    }

    [Fact]
    public void AccessesReachTheDeviceAtTheirOffset()
    {
        var map = new MmioMap();
        var a = new ScratchDevice("a", 0x1000);
        map.Register(0x2200_0000, a);
        Assert.True(map.Read(0x2200_0018, 4, out ulong v));
        Assert.Equal(0x1018UL, v);
        Assert.True(map.Write(0x2200_0FFC, 4, 7));
        Assert.Equal((0xFFCUL, 4, 7UL), a.Writes.Single());
    }

    [Fact]
    public void LookupFindsTheRightDeviceAmongMany()
    {
        var map = new MmioMap();
        var devices = new List<ScratchDevice>();
        // Registered out of order on purpose.
        foreach (ulong b in new ulong[] { 0x5000, 0x1000, 0x9000, 0x3000 })
        {
            var d = new ScratchDevice($"d{b:x}", 0x1000);
            devices.Add(d);
            map.Register(b, d);
        }
        foreach (var d in devices)
        {
            ulong b = Convert.ToUInt64(d.Name[1..], 16);
            Assert.Same(d, map.Find(b + 0x10)!.Value.Device);
        }
        Assert.Null(map.Find(0x2000));
        Assert.Null(map.Find(0xA000));
        Assert.Null(map.Find(0));
    }

    [Fact]
    public void UnclaimedAddressesAreRefused()
    {
        var map = new MmioMap();
        map.Register(0x1000, new ScratchDevice("a", 0x1000));
        Assert.False(map.Read(0x0FFF, 1, out ulong v));
        Assert.Equal(0UL, v);
        Assert.False(map.Write(0x2000, 4, 0));
        Assert.False(new MmioMap().Read(0x1000, 4, out _));
    }

    [Fact]
    public void AnAccessRunningPastTheEndOfAWindowIsRefused()
    {
        var map = new MmioMap();
        var a = new ScratchDevice("a", 0x1000);
        map.Register(0x1000, a);
        map.Register(0x2000, new ScratchDevice("b", 0x1000));
        Assert.False(map.Write(0x1FFC, 8, 0));
        Assert.False(map.Read(0x1FFE, 4, out _));
        Assert.Empty(a.Writes);
    }

    [Fact]
    public void ADeviceRefusalReachesTheBus()
    {
        var map = new MmioMap();
        map.Register(0x1000, new ScratchDevice("a", 0x1000));
        Assert.False(map.Read(0x1BAD, 1, out _));
        Assert.False(map.Write(0x1BAD, 1, 0));
    }

    [Theory]
    [InlineData(0x1000UL, 0x1000UL)]  // same window
    [InlineData(0x0800UL, 0x1000UL)]  // overlaps the start
    [InlineData(0x1800UL, 0x1000UL)]  // overlaps the end
    [InlineData(0x1400UL, 0x100UL)]   // inside
    [InlineData(0x0000UL, 0x4000UL)]  // around
    public void OverlappingWindowsAreRejected(ulong @base, ulong size)
    {
        var map = new MmioMap();
        map.Register(0x1000, new ScratchDevice("first", 0x1000));
        var e = Assert.Throws<ArgumentException>(() => map.Register(@base, size, new ScratchDevice("second", 0x4000)));
        Assert.Contains("second", e.Message);
        Assert.Contains("overlaps first", e.Message);
        Assert.Single(map.Regions);
    }

    [Fact]
    public void AdjacentWindowsAreAccepted()
    {
        var map = new MmioMap();
        map.Register(0x1000, new ScratchDevice("a", 0x1000));
        map.Register(0x2000, new ScratchDevice("b", 0x1000));
        map.Register(0x0000, new ScratchDevice("c", 0x1000));
        Assert.Equal(new ulong[] { 0, 0x1000, 0x2000 }, map.Regions.Select(r => r.Base));
    }

    [Fact]
    public void EmptyWrappingOrOversizedWindowsAreRejected()
    {
        var map = new MmioMap();
        Assert.Throws<ArgumentException>(() => map.Register(0x1000, 0, new ScratchDevice("a", 0x1000)));
        Assert.Throws<ArgumentException>(() => map.Register(ulong.MaxValue - 0xFF, 0x1000, new ScratchDevice("b", 0x1000)));
        Assert.Throws<ArgumentException>(() => map.Register(0x1000, 0x2000, new ScratchDevice("c", 0x1000)));
        Assert.Empty(map.Regions);
    }
}
