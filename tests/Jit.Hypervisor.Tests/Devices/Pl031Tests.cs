using Jit.Devices.Rtc;
using Jit.Runtime.Interrupts;

namespace Jit.Hypervisor.Tests.Devices;

public class Pl031Tests
{
    private sealed class Line : IInterruptLine
    {
        public bool Level;
        public void SetLevel(bool asserted) => Level = asserted;
    }

    [Fact]
    public void CounterStartsAtHostTimeAndLoadSetsIt()
    {
        long now = 1_700_000_000;
        using var rtc = new Pl031(() => now);
        Assert.True(rtc.Read(0x0, 4, out ulong dr));
        Assert.Equal((ulong)now, dr);
        Assert.True(rtc.Write(0x8, 4, 1000));
        now += 5;
        Assert.True(rtc.Read(0x0, 4, out dr));
        Assert.Equal(1005UL, dr);
    }

    [Fact]
    public void MatchRaisesTheMaskedInterruptUntilCleared()
    {
        long now = 100;
        var line = new Line();
        using var rtc = new Pl031(() => now) { Interrupt = line };
        Assert.True(rtc.Write(0x4, 4, 102));
        Assert.True(rtc.Write(0x10, 4, 1));
        now = 102;
        Assert.True(rtc.Read(0x14, 4, out ulong ris));
        Assert.Equal(1UL, ris);
        Assert.True(line.Level);
        Assert.True(rtc.Write(0x1C, 4, 1));
        Assert.False(line.Level);
    }

    [Fact]
    public void PrimeCellIdentifiesAsPl031AndRejectsOddAccesses()
    {
        using var rtc = new Pl031(() => 0);
        ulong id = 0;
        for (int i = 0; i < 4; i++)
        {
            Assert.True(rtc.Read(0xFE0 + 4 * (ulong)i, 4, out ulong b));
            id |= b << (8 * i);
        }
        Assert.Equal(0x0004_1031UL, id);
        Assert.False(rtc.Read(0x0, 1, out _));
        Assert.False(rtc.Write(0x2, 4, 0));
    }
}
