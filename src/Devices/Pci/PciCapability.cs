namespace Jit.Devices.Pci;

/// <summary>
/// One structure in a function's capability list. It lays out its registers and their masks in the function's
/// configuration space once linked, and hears about writes that touch it.
/// </summary>
public abstract class PciCapability
{
    /// <summary>The capability ID (PCI Code and ID Assignment Specification).</summary>
    public abstract byte Id { get; }

    /// <summary>Its length in bytes, ID and next pointer included.</summary>
    public abstract int Length { get; }

    /// <summary>Where the function placed it in configuration space.</summary>
    public int Offset { get; private set; }

    internal PciFunction? Function { get; private set; }

    protected PciFunction Owner => Function ?? throw new InvalidOperationException($"{GetType().Name} is not in a capability list");

    internal void Attach(PciFunction function, int offset)
    {
        Function = function;
        Offset = offset;
    }

    /// <summary>Writes the capability's reset values and masks; the ID and next pointer are written already.</summary>
    protected internal abstract void Initialise();

    /// <summary>Forgets state kept outside configuration space; the registers were cleared and initialised again already.</summary>
    protected internal virtual void Reset() { }

    /// <summary>A write reached the capability; <paramref name="offset"/> is relative to its start, the masks are applied already.</summary>
    protected internal virtual void Written(int offset, int size, uint value) { }

    /// <summary>For registers whose value is computed on read; false reads the stored bytes.</summary>
    protected internal virtual bool ReadDynamic(int offset, int size, out uint value)
    {
        value = 0;
        return false;
    }

    protected static bool Touches(int offset, int size, int register, int registerSize) =>
        offset < register + registerSize && offset + size > register;

    protected ushort Get16(int offset) => Owner.Get16(Offset + offset);
    protected uint Get32(int offset) => Owner.Get32(Offset + offset);
    protected void Set8(int offset, byte value) => Owner.Set8(Offset + offset, value);
    protected void Set16(int offset, ushort value) => Owner.Set16(Offset + offset, value);
    protected void Set32(int offset, uint value) => Owner.Set32(Offset + offset, value);
    protected void SetWritable(int offset, int length, ulong mask) => Owner.SetWritable(Offset + offset, length, mask);
    protected void SetClearOnWrite(int offset, int length, ulong mask) => Owner.SetClearOnWrite(Offset + offset, length, mask);
}

/// <summary>PCIe device/port types a function may report (PCIe 7.5.3.2).</summary>
public enum PciExpressDeviceType
{
    Endpoint = 0x0,
    LegacyEndpoint = 0x1,
    RootComplexIntegratedEndpoint = 0x9,
}

/// <summary>
/// The PCI Express capability, version 2 (PCIe 7.5.3). A function on the host bridge's root bus has no root port
/// above it and so no link: the default is a Root Complex Integrated Endpoint, whose link registers are reserved
/// (read 0). An <see cref="PciExpressDeviceType.Endpoint"/> reports an x1 2.5 GT/s link that is always up.
/// </summary>
public sealed class PciExpressCapability(PciExpressDeviceType type = PciExpressDeviceType.RootComplexIntegratedEndpoint) : PciCapability
{
    private const int Capabilities = 0x02, DeviceCapabilities = 0x04, DeviceControl = 0x08, DeviceStatus = 0x0A,
        LinkCapabilities = 0x0C, LinkControl = 0x10, LinkStatus = 0x12, LinkCapabilities2 = 0x2C, LinkControl2 = 0x30;

    public override byte Id => 0x10;
    public override int Length => 0x3C;
    public PciExpressDeviceType DeviceType => type;

    protected internal override void Initialise()
    {
        Set16(Capabilities, (ushort)(2 | (int)type << 4));
        // Max payload 128 bytes (field 0), no phantom functions, no FLR; role-based error reporting (bit 15)
        // is required of every PCIe 1.1+ function.
        Set32(DeviceCapabilities, 1u << 15);
        // Error reporting enables, relaxed ordering, max payload, extended tag, no snoop, max read request:
        // accepted and stored; nothing here has errors or payload limits to honour.
        SetWritable(DeviceControl, 2, 0x79FF);
        Set16(DeviceControl, 2 << 12); // max read request 512 bytes at reset
        SetClearOnWrite(DeviceStatus, 2, 0x000F);
        if (type == PciExpressDeviceType.RootComplexIntegratedEndpoint) return;
        Set32(LinkCapabilities, 1 | 1 << 4);           // 2.5 GT/s, x1
        SetWritable(LinkControl, 2, 0x00CB);            // ASPM control, RCB, common clock, extended synch
        Set16(LinkStatus, 1 | 1 << 4);                  // trained at 2.5 GT/s x1
        Set32(LinkCapabilities2, 1 << 1);               // supported speeds: 2.5 GT/s
        Set16(LinkControl2, 1);
        SetWritable(LinkControl2, 2, 0x000F);
    }
}

/// <summary>
/// PCI Power Management capability, version 1.2 (PM 1.2 chapter 3): D0 and D3hot only, no PME. No_Soft_Reset is set,
/// so D3hot to D0 keeps the function's configuration, and outside D0 its BARs decode nothing.
/// </summary>
public sealed class PowerManagementCapability : PciCapability
{
    private const int PowerManagementCapabilities = 0x02, ControlStatus = 0x04;
    private const ushort NoSoftReset = 1 << 3;

    private int lastState;

    public override byte Id => 0x01;
    public override int Length => 8;

    /// <summary>0 for D0, 3 for D3hot.</summary>
    public int PowerState => Get16(ControlStatus) & 3;

    protected internal override void Initialise()
    {
        Set16(PowerManagementCapabilities, 3);
        Set16(ControlStatus, NoSoftReset);
        SetWritable(ControlStatus, 2, 0x0003);
    }

    protected internal override void Reset() => lastState = 0;

    protected internal override void Written(int offset, int size, uint value)
    {
        if (!Touches(offset, size, ControlStatus, 2)) return;
        int state = PowerState;
        // PM 1.2 3.2.4: a write of an unsupported state is ignored (D1 and D2 are not offered).
        if (state is 1 or 2) Set16(ControlStatus, (ushort)((Get16(ControlStatus) & ~3) | lastState));
        else if (state != lastState)
        {
            lastState = state;
            Owner.PowerStateChanged();
        }
    }
}

/// <summary>
/// The MSI capability with a 64-bit address and per-vector masking (PCI 3.0 6.8.1): up to 32 vectors; the
/// function's vector number replaces the low bits of the message data that Multiple Message Enable grants.
/// </summary>
public sealed class MsiCapability : PciCapability
{
    private const int MessageControl = 0x02, MessageAddress = 0x04, MessageUpperAddress = 0x08, MessageData = 0x0C,
        MaskBits = 0x10, PendingBits = 0x14;
    private const ushort Enable = 1, Address64 = 1 << 7, PerVectorMasking = 1 << 8;

    private readonly int log2Vectors;

    /// <param name="vectors">1, 2, 4, 8, 16 or 32.</param>
    public MsiCapability(int vectors = 1)
    {
        if (vectors is < 1 or > 32 || (vectors & (vectors - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(vectors));
        log2Vectors = System.Numerics.BitOperations.Log2((uint)vectors);
    }

    public override byte Id => 0x05;
    public override int Length => 0x18;

    public bool Enabled => (Get16(MessageControl) & Enable) != 0;

    /// <summary>Vectors the guest enabled: 2^min(Multiple Message Enable, Multiple Message Capable).</summary>
    public int EnabledVectors => Enabled ? 1 << Math.Min((Get16(MessageControl) >> 4) & 7, log2Vectors) : 0;

    protected internal override void Initialise()
    {
        Set16(MessageControl, (ushort)(log2Vectors << 1 | Address64 | PerVectorMasking));
        SetWritable(MessageControl, 2, Enable | 7 << 4);
        SetWritable(MessageAddress, 4, 0xFFFF_FFFC);
        SetWritable(MessageUpperAddress, 4, 0xFFFF_FFFF);
        SetWritable(MessageData, 2, 0xFFFF);
        SetWritable(MaskBits, 4, (1UL << (1 << log2Vectors)) - 1);
    }

    /// <summary>Signals <paramref name="vector"/>: sent now, held pending while masked, dropped when not enabled.</summary>
    public bool Signal(int vector)
    {
        if (vector < 0 || vector >= EnabledVectors) return false;
        if ((Get32(MaskBits) >> vector & 1) != 0)
        {
            Set32(PendingBits, Get32(PendingBits) | 1u << vector);
            return true;
        }
        return Send(vector);
    }

    private bool Send(int vector)
    {
        if (!Owner.BusMasterEnabled) return false;
        ulong address = (ulong)Get32(MessageUpperAddress) << 32 | Get32(MessageAddress);
        uint data = (uint)(Get16(MessageData) & ~(EnabledVectors - 1) | vector);
        return Owner.MsiSink.Deliver(address, data, Owner.RequesterId);
    }

    protected internal override void Written(int offset, int size, uint value)
    {
        if (!Touches(offset, size, MaskBits, 4) && !Touches(offset, size, MessageControl, 2)) return;
        // PCI 3.0 6.8.3, per-vector masking: a pending vector that becomes unmasked is sent.
        uint pending = Get32(PendingBits) & ~Get32(MaskBits);
        for (int v = 0; v < EnabledVectors && pending != 0; v++, pending >>= 1)
        {
            if ((pending & 1) == 0) continue;
            Set32(PendingBits, Get32(PendingBits) & ~(1u << v));
            Send(v);
        }
    }
}
