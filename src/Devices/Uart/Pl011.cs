using Jit.Runtime;

namespace Jit.Devices.Uart;

/// <summary>
/// Arm PrimeCell UART (PL011), the console of the guest platform. For now only what a polled console needs:
/// the data register sends to the output stream, the flag register says the transmitter is always empty and
/// the receiver always empty, and the identification registers let drivers probe it. Every other register
/// reads as zero and ignores writes, reported once per offset.
/// </summary>
/// <remarks>
/// The PL011 sits on APB, which carries 32-bit transfers; SBSA's generic UART additionally allows 8- and 16-bit
/// accesses. Both are accepted when naturally aligned. 64-bit accesses and misaligned accesses are rejected, so
/// the guest sees an external abort rather than a silently split access.
/// </remarks>
public sealed class Pl011 : IMmioDevice
{
    public const ulong Size = 0x1000;

    // Register offsets (PL011 TRM, section 3.2).
    public const int UartDr = 0x000;
    public const int UartRsr = 0x004;
    public const int UartFr = 0x018;
    public const int UartIlpr = 0x020;
    public const int UartIbrd = 0x024;
    public const int UartFbrd = 0x028;
    public const int UartLcrH = 0x02C;
    public const int UartCr = 0x030;
    public const int UartIfls = 0x034;
    public const int UartImsc = 0x038;
    public const int UartRis = 0x03C;
    public const int UartMis = 0x040;
    public const int UartIcr = 0x044;
    public const int UartDmacr = 0x048;
    public const int PeriphId0 = 0xFE0;
    public const int PCellId3 = 0xFFC;

    // UARTFR bits.
    public const uint FrTxfe = 1 << 7;
    public const uint FrRxff = 1 << 6;
    public const uint FrTxff = 1 << 5;
    public const uint FrRxfe = 1 << 4;
    public const uint FrBusy = 1 << 3;

    /// <summary>
    /// UARTPeriphID0–3 then UARTPCellID0–3 (0xFE0–0xFFC): part number 0x011, designer 0x41 (Arm),
    /// revision 3 (r1p5), and the PrimeCell identification 0xB105F00D.
    /// </summary>
    private static readonly byte[] IdRegisters = [0x11, 0x10, 0x34, 0x00, 0x0D, 0xF0, 0x05, 0xB1];

    private readonly Stream output;
    private readonly string logKey;

    /// <param name="output">Where transmitted bytes go. Lines are flushed as they complete.</param>
    /// <param name="name">Distinguishes several UARTs in logs.</param>
    public Pl011(Stream output, string name = "pl011")
    {
        this.output = output;
        Name = name;
        logKey = name;
    }

    public string Name { get; }
    public ulong WindowSize => Size;

    /// <summary>Bytes the guest has transmitted.</summary>
    public long Transmitted { get; private set; }

    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        if (!Acceptable(offset, size)) return false;
        uint reg = ReadRegister((int)(offset & ~3UL));
        int shift = (int)(offset & 3) * 8;
        value = (reg >> shift) & SizeMask(size);
        return true;
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        if (!Acceptable(offset, size)) return false;
        int reg = (int)(offset & ~3UL);
        int shift = (int)(offset & 3) * 8;
        if (reg == UartDr)
        {
            // Only the low byte of DR carries data; a write to its upper bytes has no character to send.
            if (shift == 0) Transmit((byte)value);
            return true;
        }
        if (reg >= PeriphId0)
        {
            Log.Once($"{logKey}-ro-{reg:x}", $"{Name}: write to read-only identification register at offset 0x{reg:x} ignored");
            return true;
        }
        Log.Once($"{logKey}-w-{reg:x}", $"{Name}: write to register at offset 0x{reg:x} is not modelled yet; ignored");
        return true;
    }

    /// <summary>Pushes buffered console output to its destination (called before the emulator exits).</summary>
    public void Flush() => output.Flush();

    private static bool Acceptable(ulong offset, int size) =>
        size is 1 or 2 or 4 && offset < Size && (offset & (ulong)(size - 1)) == 0;

    private static ulong SizeMask(int size) => size == 4 ? 0xFFFF_FFFFUL : (1UL << (8 * size)) - 1;

    private uint ReadRegister(int reg)
    {
        switch (reg)
        {
            case UartDr:
                // Nothing is ever received yet: RXFE is set, so a well-behaved driver does not read here.
                return 0;
            case UartFr:
                return FrTxfe | FrRxfe;
            case >= PeriphId0 and <= PCellId3:
                return IdRegisters[(reg - PeriphId0) >> 2];
            default:
                Log.Once($"{logKey}-r-{reg:x}", $"{Name}: read of register at offset 0x{reg:x} is not modelled yet; reads as zero");
                return 0;
        }
    }

    private void Transmit(byte b)
    {
        output.WriteByte(b);
        Transmitted++;
        if (b == (byte)'\n') output.Flush();
    }
}
