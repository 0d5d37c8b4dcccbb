using System.Text;
using Jit.Devices.Uart;

namespace Jit.Hypervisor.Tests.Devices;

/// <summary>Xen's vuart = "sbsa_uart": the SBSA generic UART subset of the PL011, as Linux's sbsa-uart driver uses it.</summary>
public class SbsaUartTests
{
    private readonly MemoryStream output = new();
    private readonly SbsaUart uart;

    public SbsaUartTests() => uart = new SbsaUart(new Pl011(output));

    [Fact]
    public void TransmitsWithoutTheDriverEverEnablingTheUart()
    {
        // The SBSA driver writes no UARTCR: the UART must already be enabled.
        foreach (char c in "hi\n") Assert.True(uart.Write(Pl011.UartDr, 4, c));
        Assert.Equal("hi\n", Encoding.ASCII.GetString(output.ToArray()));
        Assert.True(uart.Read(Pl011.UartFr, 4, out ulong fr));
        Assert.NotEqual(0UL, fr & Pl011.FrTxfe);
    }

    [Fact]
    public void ReceivesIntoAFifoOnceTheReceiveInterruptIsUnmasked()
    {
        Assert.False(uart.Uart.ReceiveEnabled);
        Assert.True(uart.Write(Pl011.UartImsc, 4, Pl011.IntRx | Pl011.IntRt));
        Assert.True(uart.Uart.ReceiveEnabled);
        // FIFOs are always on: more than one byte waits.
        Assert.True(uart.Uart.Receive((byte)'a'));
        Assert.True(uart.Uart.Receive((byte)'b'));
        Assert.True(uart.Read(Pl011.UartMis, 4, out ulong mis));
        Assert.NotEqual(0UL, mis & Pl011.IntRx);
        Assert.True(uart.Read(Pl011.UartDr, 4, out ulong a));
        Assert.True(uart.Read(Pl011.UartDr, 4, out ulong b));
        Assert.Equal(('a', 'b'), ((char)(a & 0xFF), (char)(b & 0xFF)));
    }

    [Theory]
    [InlineData(Pl011.UartIbrd)]
    [InlineData(Pl011.UartFbrd)]
    [InlineData(Pl011.UartLcrH)]
    [InlineData(Pl011.UartCr)]
    [InlineData(Pl011.UartIfls)]
    [InlineData(Pl011.UartDmacr)]
    [InlineData(Pl011.PeriphId0)]
    [InlineData(Pl011.PCellId3)]
    public void RegistersOutsideTheSubsetAbort(int offset)
    {
        Assert.False(uart.Read((ulong)offset, 4, out _));
        Assert.False(uart.Write((ulong)offset, 4, 0));
    }

    [Fact]
    public void SubsetRegistersTakeByteToWordAccessesButNotDoublewords()
    {
        Assert.True(uart.Read(Pl011.UartFr, 1, out _));
        Assert.True(uart.Read(Pl011.UartFr, 2, out _));
        Assert.True(uart.Write(Pl011.UartIcr, 4, 0x7FF));
        Assert.False(uart.Read(Pl011.UartFr, 8, out _));
    }
}
