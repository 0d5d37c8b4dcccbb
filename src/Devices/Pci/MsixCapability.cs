namespace Jit.Devices.Pci;

/// <summary>
/// The MSI-X capability (PCI 3.0 6.8.2): a table of vectors (address, data, vector control) and a pending bit
/// array, both in one of the function's BARs. The function places <see cref="Table"/> and
/// <see cref="PendingBitArray"/> in the BAR's window at the offsets given here. A vector is sent when signalled
/// if MSI-X is enabled and neither the function nor the vector is masked; otherwise its pending bit is set and it
/// is sent when the mask that held it is cleared.
/// </summary>
public sealed class MsixCapability : PciCapability
{
    private const int MessageControl = 0x02, TableOffsetBir = 0x04, PbaOffsetBir = 0x08;
    private const ushort Enable = 1 << 15, FunctionMask = 1 << 14;
    private const int EntrySize = 16, VectorControl = 12;

    private readonly uint[] table;
    private readonly ulong[] pending;
    private readonly int tableBar, pbaBar;
    private readonly uint tableOffset, pbaOffset;

    /// <param name="vectors">1 to 2048.</param>
    /// <param name="tableOffset">Offset of the table in BAR <paramref name="tableBar"/>, 8-byte aligned.</param>
    public MsixCapability(int vectors, int tableBar, uint tableOffset, int pbaBar, uint pbaOffset)
    {
        if (vectors is < 1 or > 2048) throw new ArgumentOutOfRangeException(nameof(vectors));
        if (((tableOffset | pbaOffset) & 7) != 0 || tableBar is < 0 or > 5 || pbaBar is < 0 or > 5)
            throw new ArgumentException("MSI-X table and PBA need a BAR and 8-byte aligned offsets");
        Vectors = vectors;
        this.tableBar = tableBar;
        this.pbaBar = pbaBar;
        this.tableOffset = tableOffset;
        this.pbaOffset = pbaOffset;
        table = new uint[vectors * 4];
        pending = new ulong[(vectors + 63) / 64];
        Table = new TableWindow(this);
        PendingBitArray = new PbaWindow(this);
        ResetTable();
    }

    public override byte Id => 0x11;
    public override int Length => 12;

    public int Vectors { get; }

    public bool Enabled => (Get16(MessageControl) & Enable) != 0;
    public bool FunctionMasked => (Get16(MessageControl) & FunctionMask) != 0;

    /// <summary>The table's registers, <see cref="Vectors"/> × 16 bytes; accessed as 4 or 8 aligned bytes.</summary>
    public IMmioDevice Table { get; }

    /// <summary>The pending bits, 8 bytes per 64 vectors; read-only.</summary>
    public IMmioDevice PendingBitArray { get; }

    public static ulong TableSize(int vectors) => (ulong)vectors * EntrySize;
    public static ulong PendingBitArraySize(int vectors) => (ulong)(vectors + 63) / 64 * 8;

    protected internal override void Initialise()
    {
        Set16(MessageControl, (ushort)(Vectors - 1));
        SetWritable(MessageControl, 2, Enable | FunctionMask);
        Set32(TableOffsetBir, tableOffset | (uint)tableBar);
        Set32(PbaOffsetBir, pbaOffset | (uint)pbaBar);
    }

    /// <summary>Back to the reset state the table has (every vector masked, nothing pending), e.g. on a function reset.</summary>
    public void ResetTable()
    {
        Array.Clear(table);
        Array.Clear(pending);
        // PCI 3.0 6.8.2.9: the Mask bit of every vector is set at reset.
        for (int v = 0; v < Vectors; v++) table[v * 4 + 3] = 1;
    }

    protected internal override void Reset() => ResetTable();

    public bool IsPending(int vector) => (pending[vector >> 6] >> (vector & 63) & 1) != 0;

    /// <summary>Signals <paramref name="vector"/>; false when MSI-X is off (the caller may fall back to INTx) or the vector does not exist.</summary>
    public bool Signal(int vector)
    {
        if (!Enabled || (uint)vector >= (uint)Vectors) return false;
        if (FunctionMasked || (table[vector * 4 + 3] & 1) != 0) pending[vector >> 6] |= 1UL << (vector & 63);
        else Send(vector);
        return true;
    }

    private void Send(int vector)
    {
        // A message is a memory write: without bus mastering the function may not make it (PCI 3.0 6.8.2).
        if (!Owner.BusMasterEnabled)
        {
            Owner.LogOnce("msix-no-bus-master", "MSI-X message dropped, bus mastering is off");
            return;
        }
        ulong address = (ulong)table[vector * 4 + 1] << 32 | table[vector * 4];
        Owner.MsiSink.Deliver(address, table[vector * 4 + 2], Owner.RequesterId);
    }

    protected internal override void Written(int offset, int size, uint value)
    {
        if (Touches(offset, size, MessageControl, 2)) SendUnmaskedPending();
    }

    private void SendUnmaskedPending()
    {
        if (!Enabled || FunctionMasked) return;
        for (int w = 0; w < pending.Length; w++)
        {
            // Snapshot the word: a vector still masked by its own bit stays pending.
            ulong bits = pending[w];
            while (bits != 0)
            {
                int bit = System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                TrySendPending(w * 64 + bit);
            }
        }
    }

    private bool TrySendPending(int v)
    {
        if (!IsPending(v) || (table[v * 4 + 3] & 1) != 0) return false;
        pending[v >> 6] &= ~(1UL << (v & 63));
        Send(v);
        return true;
    }

    private bool TableRead(ulong offset, int size, out ulong value)
    {
        value = 0;
        if (size is not (4 or 8) || (offset & (ulong)(size - 1)) != 0 || offset + (ulong)size > TableSize(Vectors)) return false;
        int i = (int)(offset / 4);
        value = table[i];
        if (size == 8) value |= (ulong)table[i + 1] << 32;
        return true;
    }

    private bool TableWrite(ulong offset, int size, ulong value)
    {
        if (size is not (4 or 8) || (offset & (ulong)(size - 1)) != 0 || offset + (ulong)size > TableSize(Vectors)) return false;
        int i = (int)(offset / 4);
        StoreTableWord(i, (uint)value);
        if (size == 8) StoreTableWord(i + 1, (uint)(value >> 32));
        return true;
    }

    private void StoreTableWord(int i, uint value)
    {
        switch (i & 3)
        {
            case 0: table[i] = value & ~3u; break; // PCI 3.0 6.8.2.6: address bits 1:0 are 0
            case 3:
                // Only the Mask bit of Vector Control is defined; clearing it sends what it held.
                table[i] = value & 1;
                if ((value & 1) == 0 && Enabled && !FunctionMasked) TrySendPending(i / 4);
                break;
            default: table[i] = value; break;
        }
    }

    private bool PbaRead(ulong offset, int size, out ulong value)
    {
        value = 0;
        if (size is not (4 or 8) || (offset & (ulong)(size - 1)) != 0 || offset + (ulong)size > PendingBitArraySize(Vectors)) return false;
        ulong word = pending[offset / 8];
        value = size == 8 ? word : (uint)(word >> (int)(8 * (offset & 4)));
        return true;
    }

    private sealed class TableWindow(MsixCapability owner) : IMmioDevice
    {
        public string Name => "msix-table";
        public ulong WindowSize => TableSize(owner.Vectors);
        public bool Read(ulong offset, int size, out ulong value) => owner.TableRead(offset, size, out value);
        public bool Write(ulong offset, int size, ulong value) => owner.TableWrite(offset, size, value);
    }

    private sealed class PbaWindow(MsixCapability owner) : IMmioDevice
    {
        public string Name => "msix-pba";
        public ulong WindowSize => PendingBitArraySize(owner.Vectors);
        public bool Read(ulong offset, int size, out ulong value) => owner.PbaRead(offset, size, out value);

        // PCI 3.0 6.8.2.10: pending bits are read-only; a write is accepted and changes nothing.
        public bool Write(ulong offset, int size, ulong value) =>
            size is 4 or 8 && (offset & (ulong)(size - 1)) == 0 && offset + (ulong)size <= WindowSize;
    }
}
