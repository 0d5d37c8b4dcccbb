using Jit.Runtime;
using Jit.Runtime.Interrupts;
using Jit.Runtime.Startup;

namespace Jit.Devices.Uart;

/// <summary>
/// Arm PrimeCell UART (PL011 r1p5, DDI 0183), the console of the guest platform, with what Linux's amba-pl011
/// driver uses: the data register with receive errors, 32-entry FIFOs (one entry when LCR_H.FEN is clear),
/// the flag register, baud-rate and line-control registers (stored, no timing), the interrupt mask, raw and
/// masked status and clear registers, DMACR, and the PrimeCell identification.
/// </summary>
/// <remarks>
/// Transmission is instantaneous: a byte written to DR goes to the output at once, so the transmit FIFO is
/// always empty and TXRIS rises on every write (it is cleared by ICR), which is what the driver's "transmit
/// FIFO at or below its trigger level" interrupt needs to keep sending. RXRIS follows the receive FIFO:
/// raised while it holds data. The PL011 sits on APB (32-bit transfers); SBSA's generic UART also allows 8-
/// and 16-bit accesses, so naturally aligned 1, 2 and 4-byte accesses are accepted and anything else aborts.
/// </remarks>
[CompiledEarly]
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

    // Interrupt bits of IMSC/RIS/MIS/ICR.
    public const uint IntRx = 1 << 4;
    public const uint IntTx = 1 << 5;
    public const uint IntRt = 1 << 6;
    private const uint IntAll = 0x7FF;

    private const int FifoDepth = 32;
    private const uint LcrhFen = 1 << 4;

    /// <summary>
    /// UARTPeriphID0–3 then UARTPCellID0–3 (0xFE0–0xFFC): part number 0x011, designer 0x41 (Arm),
    /// revision 3 (r1p5), and the PrimeCell identification 0xB105F00D.
    /// </summary>
    private static readonly byte[] IdRegisters = [0x11, 0x10, 0x34, 0x00, 0x0D, 0xF0, 0x05, 0xB1];

    private readonly object gate = new();
    // Output waits for a newline to reach its destination in one write; a prompt or an echoed keystroke, which
    // ends no line, is pushed out this long after its first byte instead (a shell's "login: ", "/ # ").
    private const int PartialLineDelayMs = 15;
    private Timer? partialLineFlush;
    private bool partialLinePending;
    private readonly Stream output;
    private readonly string logKey;
    private readonly Queue<byte> rx = new();
    private uint ibrd, fbrd, lcrh, ifls = 0x12, imsc, ris, dmacr, ilpr, rsr;
    // Reset: UARTEN clear, TXE and RXE set (TRM 3.3.8).
    private uint cr = 0x300;
    private bool lineLevel;

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

    /// <summary>The UART's combined interrupt (UARTINTR), SPI 32 on the platform.</summary>
    public IInterruptLine Interrupt { get; set; } = UnconnectedLine.Instance;

    /// <summary>Bytes the guest has transmitted.</summary>
    public long Transmitted { get; private set; }

    private int RxCapacity => (lcrh & LcrhFen) != 0 ? FifoDepth : 1;

    /// <summary>
    /// Offers a received byte; false while the receive FIFO is full, so a console backend can wait instead of
    /// dropping input (a real line would overrun).
    /// </summary>
    public bool Receive(byte b)
    {
        lock (gate)
        {
            if (rx.Count >= RxCapacity) return false;
            rx.Enqueue(b);
            ris |= IntRx | IntRt;
            UpdateLine();
            return true;
        }
    }

    /// <summary>Whether the guest listens: the UART and its receiver are enabled and the receive interrupts unmasked.</summary>
    public bool ReceiveEnabled
    {
        get { lock (gate) return (cr & 0x201) == 0x201 && (imsc & (IntRx | IntRt)) != 0; }
    }

    /// <summary>Whether <see cref="Receive"/> would accept a byte now.</summary>
    public bool CanReceive
    {
        get { lock (gate) return rx.Count < RxCapacity; }
    }

    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        if (!Acceptable(offset, size)) return false;
        uint reg;
        lock (gate) reg = ReadRegister((int)(offset & ~3UL));
        int shift = (int)(offset & 3) * 8;
        value = (reg >> shift) & SizeMask(size);
        return true;
    }

    public bool Write(ulong offset, int size, ulong value)
    {
        if (!Acceptable(offset, size)) return false;
        int reg = (int)(offset & ~3UL);
        int shift = (int)(offset & 3) * 8;
        uint v = (uint)(value << shift);
        lock (gate)
        {
            switch (reg)
            {
                case UartDr:
                    // Only the low byte of DR carries data; a write to its upper bytes has no character to send.
                    if (shift == 0) Transmit((byte)value);
                    break;
                case UartRsr: rsr = 0; break; // UARTECR: any write clears the errors
                case UartIlpr: ilpr = v & 0xFF; break;
                case UartIbrd: ibrd = v & 0xFFFF; break;
                case UartFbrd: fbrd = v & 0x3F; break;
                case UartLcrH:
                    // Turning the FIFOs off or on flushes them (TRM 3.3.7).
                    if (((lcrh ^ v) & LcrhFen) != 0) rx.Clear();
                    lcrh = v & 0xFF;
                    break;
                case UartCr: cr = v & 0xFF87; break;
                case UartIfls: ifls = v & 0x3F; break;
                case UartImsc: imsc = v & IntAll; break;
                case UartIcr: ris &= ~(v & IntAll); if (rx.Count > 0) ris |= IntRx | IntRt; break;
                case UartDmacr: dmacr = v & 7; break;
                case UartFr or UartRis or UartMis:
                    break; // read-only
                case >= PeriphId0:
                    Log.Once($"{logKey}-ro-{reg:x}", $"{Name}: write to read-only identification register at offset 0x{reg:x} ignored");
                    break;
                default:
                    Log.Once($"{logKey}-w-{reg:x}", $"{Name}: write to unimplemented register at offset 0x{reg:x} ignored");
                    break;
            }
            UpdateLine();
        }
        return true;
    }

    /// <summary>Pushes buffered console output to its destination (called before the emulator exits).</summary>
    public void Flush()
    {
        lock (gate)
        {
            partialLinePending = false;
            output.Flush();
        }
    }

    private void FlushPartialLine()
    {
        lock (gate)
        {
            if (!partialLinePending) return;
            partialLinePending = false;
            try
            {
                output.Flush();
            }
            catch (Exception e) when (e is ObjectDisposedException or IOException)
            {
                // The console went away with its machine; nothing is left to show.
            }
        }
    }

    private static bool Acceptable(ulong offset, int size) =>
        size is 1 or 2 or 4 && offset < Size && (offset & (ulong)(size - 1)) == 0;

    private static ulong SizeMask(int size) => size == 4 ? 0xFFFF_FFFFUL : (1UL << (8 * size)) - 1;

    private uint ReadRegister(int reg)
    {
        switch (reg)
        {
            case UartDr:
            {
                if (rx.Count == 0) return 0;
                uint b = rx.Dequeue();
                if (rx.Count == 0) ris &= ~(IntRx | IntRt);
                UpdateLine();
                return b;
            }
            case UartRsr: return rsr;
            case UartFr:
                return FrTxfe | (rx.Count == 0 ? FrRxfe : 0) | (rx.Count >= RxCapacity ? FrRxff : 0);
            case UartIlpr: return ilpr;
            case UartIbrd: return ibrd;
            case UartFbrd: return fbrd;
            case UartLcrH: return lcrh;
            case UartCr: return cr;
            case UartIfls: return ifls;
            case UartImsc: return imsc;
            case UartRis: return ris;
            case UartMis: return ris & imsc;
            case UartIcr: return 0;
            case UartDmacr: return dmacr;
            case >= PeriphId0 and <= PCellId3:
                return IdRegisters[(reg - PeriphId0) >> 2];
            default:
                Log.Once($"{logKey}-r-{reg:x}", $"{Name}: read of unimplemented register at offset 0x{reg:x} returns zero");
                return 0;
        }
    }

    private void Transmit(byte b)
    {
        output.WriteByte(b);
        Transmitted++;
        if (b == (byte)'\n')
        {
            output.Flush();
            partialLinePending = false;
        }
        else if (!partialLinePending)
        {
            partialLinePending = true;
            (partialLineFlush ??= new Timer(_ => FlushPartialLine())).Change(PartialLineDelayMs, Timeout.Infinite);
        }
        ris |= IntTx;
    }

    private void UpdateLine()
    {
        bool level = (ris & imsc) != 0;
        if (level == lineLevel) return;
        lineLevel = level;
        Interrupt.SetLevel(level);
    }
}
