using Jit.Runtime;

namespace Jit.Devices.Uart;

/// <summary>
/// The SBSA Generic UART (Arm SBSA, its appendix on the generic UART): the subset of the PL011 that Xen's vpl011
/// gives a domain with <c>vuart = "sbsa_uart"</c>. Only UARTDR, UARTRSR/ECR, UARTFR, UARTIMSC, UARTRIS, UARTMIS and
/// UARTICR exist; the UART is always enabled with its FIFOs on, and there are no baud-rate, line-control,
/// control, DMA or identification registers, so a driver cannot find a PL011 here. An access anywhere else, or
/// of 64 bits, is an external abort, as Xen's unhandled vpl011 accesses are; it is logged once.
/// </summary>
public sealed class SbsaUart : IMmioDevice
{
    private const uint LcrhFen = 1 << 4, CrUarten = 1, CrTxe = 1 << 8, CrRxe = 1 << 9;

    /// <param name="uart">The PL011 whose subset this is: the console service feeds and drains it as any UART.</param>
    public SbsaUart(Pl011 uart)
    {
        Uart = uart;
        uart.Write(Pl011.UartLcrH, 4, LcrhFen);
        uart.Write(Pl011.UartCr, 4, CrUarten | CrTxe | CrRxe);
    }

    public Pl011 Uart { get; }
    public string Name => "sbsa-uart";
    public ulong WindowSize => Pl011.Size;

    /// <summary>Whether the register holding <paramref name="offset"/> is one of the SBSA subset's.</summary>
    public static bool Implemented(ulong offset) => (offset & ~3UL) switch
    {
        Pl011.UartDr or Pl011.UartRsr or Pl011.UartFr or Pl011.UartImsc or Pl011.UartRis or Pl011.UartMis or Pl011.UartIcr => true,
        _ => false,
    };

    public bool Read(ulong offset, int size, out ulong value)
    {
        if (Allowed(offset, size, "read")) return Uart.Read(offset, size, out value);
        value = 0;
        return false;
    }

    public bool Write(ulong offset, int size, ulong value) => Allowed(offset, size, "write") && Uart.Write(offset, size, value);

    private static bool Allowed(ulong offset, int size, string what)
    {
        if (size != 8 && Implemented(offset)) return true;
        Log.Once($"sbsa-uart {what} 0x{offset:x3}", $"sbsa-uart: {size}-byte {what} of offset 0x{offset:x3}, which the SBSA generic UART lacks: external abort");
        return false;
    }
}
