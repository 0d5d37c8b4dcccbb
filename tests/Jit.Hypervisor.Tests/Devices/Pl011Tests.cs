using System.Text;
using Jit.Devices.Uart;

namespace Jit.Hypervisor.Tests.Devices;

public class Pl011Tests
{
    private sealed class FlushCountingStream : MemoryStream
    {
        public int Flushes { get; private set; }
        public override void Flush() => Flushes++;
    }

    private readonly FlushCountingStream output = new();
    private readonly Pl011 uart;

    public Pl011Tests() => uart = new Pl011(output);

    private string Text => Encoding.ASCII.GetString(output.ToArray());

    [Fact]
    public void DataRegisterWritesReachTheOutput()
    {
        foreach (char c in "ok\n") Assert.True(uart.Write(Pl011.UartDr, 4, c));
        Assert.Equal("ok\n", Text);
        Assert.Equal(3, uart.Transmitted);
    }

    [Fact]
    public void ByteAndHalfwordWritesToTheDataRegisterSendTheLowByte()
    {
        Assert.True(uart.Write(Pl011.UartDr, 1, 'a'));
        Assert.True(uart.Write(Pl011.UartDr, 2, 0x0F00 | 'b'));
        Assert.True(uart.Write(Pl011.UartDr, 4, 0xFFFF_FF00 | 'c'));
        Assert.Equal("abc", Text);
    }

    /// <summary>A prompt ends no line, yet a user (or a script waiting for "login: ") must see it.</summary>
    [Fact]
    public void APartialLineIsFlushedSoonWithoutANewline()
    {
        foreach (char c in "jit login: ") Assert.True(uart.Write(Pl011.UartDr, 4, c));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (output.Flushes == 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(5);
        Assert.Equal(1, output.Flushes);
        // One flush for the whole prompt, not one per byte.
        Thread.Sleep(100);
        Assert.Equal(1, output.Flushes);
    }

    [Fact]
    public void ANewlineFlushesTheOutput()
    {
        uart.Write(Pl011.UartDr, 4, 'x');
        Assert.Equal(0, output.Flushes);
        uart.Write(Pl011.UartDr, 4, '\n');
        Assert.Equal(1, output.Flushes);
    }

    [Fact]
    public void FlagRegisterReportsTransmitterEmptyAndReceiverEmpty()
    {
        Assert.True(uart.Read(Pl011.UartFr, 4, out ulong fr));
        Assert.Equal(Pl011.FrTxfe | Pl011.FrRxfe, fr);
        Assert.Equal(0u, fr & (Pl011.FrTxff | Pl011.FrBusy | Pl011.FrRxff));
    }

    [Theory]
    [InlineData(0xFE0, 0x11)]
    [InlineData(0xFE4, 0x10)]
    [InlineData(0xFE8, 0x34)]
    [InlineData(0xFEC, 0x00)]
    [InlineData(0xFF0, 0x0D)]
    [InlineData(0xFF4, 0xF0)]
    [InlineData(0xFF8, 0x05)]
    [InlineData(0xFFC, 0xB1)]
    public void IdentificationRegistersIdentifyAPl011(int offset, int expected)
    {
        Assert.True(uart.Read((ulong)offset, 4, out ulong v));
        Assert.Equal((ulong)expected, v);
    }

    [Fact]
    public void IdentificationRegistersIgnoreWrites()
    {
        Assert.True(uart.Write(0xFE0, 4, 0xFF));
        uart.Read(0xFE0, 4, out ulong v);
        Assert.Equal(0x11UL, v);
    }

    [Fact]
    public void ControlRegistersReadBackAndHolesReadZero()
    {
        Assert.True(uart.Write(Pl011.UartCr, 4, 0x301));
        Assert.True(uart.Read(Pl011.UartCr, 4, out ulong cr));
        Assert.Equal(0x301UL, cr);
        Assert.True(uart.Read(0x800, 4, out ulong hole));
        Assert.Equal(0UL, hole);
        Assert.Empty(output.ToArray());
    }

    [Fact]
    public void ReceivedBytesFillTheFifoRaiseRxAndDrainThroughDr()
    {
        var line = new Line();
        uart.Interrupt = line;
        Assert.True(uart.Write(Pl011.UartLcrH, 4, 0x70));      // FIFOs on, 8 bits
        Assert.True(uart.Write(Pl011.UartImsc, 4, Pl011.IntRx));
        Assert.True(uart.Receive((byte)'h'));
        Assert.True(uart.Receive((byte)'i'));
        Assert.True(line.Level);
        Assert.True(uart.Read(Pl011.UartFr, 4, out ulong fr));
        Assert.Equal(0UL, fr & Pl011.FrRxfe);
        Assert.True(uart.Read(Pl011.UartDr, 4, out ulong a));
        Assert.True(uart.Read(Pl011.UartDr, 4, out ulong b));
        Assert.Equal("hi", $"{(char)a}{(char)b}");
        Assert.False(line.Level);
        Assert.True(uart.Read(Pl011.UartFr, 4, out fr));
        Assert.NotEqual(0UL, fr & Pl011.FrRxfe);
    }

    [Fact]
    public void FifoFullRefusesInputInsteadOfDroppingIt()
    {
        // FIFOs off: a one-byte holding register.
        Assert.True(uart.Receive(1));
        Assert.False(uart.Receive(2));
        Assert.True(uart.Read(Pl011.UartFr, 4, out ulong fr));
        Assert.NotEqual(0UL, fr & Pl011.FrRxff);
    }

    [Fact]
    public void TransmitRaisesTxUntilClearedByIcr()
    {
        var line = new Line();
        uart.Interrupt = line;
        Assert.True(uart.Write(Pl011.UartImsc, 4, Pl011.IntTx));
        Assert.False(line.Level);
        Assert.True(uart.Write(Pl011.UartDr, 4, 'x'));
        Assert.True(line.Level);
        Assert.True(uart.Read(Pl011.UartMis, 4, out ulong mis));
        Assert.Equal((ulong)Pl011.IntTx, mis);
        Assert.True(uart.Write(Pl011.UartIcr, 4, Pl011.IntTx));
        Assert.False(line.Level);
    }

    private sealed class Line : Jit.Runtime.Interrupts.IInterruptLine
    {
        public bool Level;
        public void SetLevel(bool asserted) => Level = asserted;
    }

    [Theory]
    [InlineData(0x000UL, 8)]   // 64-bit: wider than the bus
    [InlineData(0x018UL, 8)]
    [InlineData(0x000UL, 3)]   // not a transfer size
    [InlineData(0x000UL, 0)]
    [InlineData(0x001UL, 4)]   // misaligned
    [InlineData(0x002UL, 4)]
    [InlineData(0x019UL, 2)]
    [InlineData(0x1000UL, 4)]  // outside the window
    [InlineData(ulong.MaxValue, 1)]
    public void MalformedAccessesAreRejected(ulong offset, int size)
    {
        Assert.False(uart.Read(offset, size, out ulong v));
        Assert.Equal(0UL, v);
        Assert.False(uart.Write(offset, size, 'x'));
        Assert.Empty(output.ToArray());
    }

    [Fact]
    public void NarrowReadsSeeTheirPartOfTheRegister()
    {
        Assert.True(uart.Read(Pl011.UartFr, 1, out ulong b));
        Assert.Equal(0x90UL, b);
        Assert.True(uart.Read(Pl011.UartFr + 2, 2, out ulong h));
        Assert.Equal(0UL, h);
    }
}
