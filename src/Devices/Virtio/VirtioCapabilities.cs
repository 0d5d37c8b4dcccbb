using Jit.Devices.Pci;

namespace Jit.Devices.Virtio;

/// <summary>
/// struct virtio_pci_cap (virtio 1.2 4.1.4): a vendor-specific capability saying where in which BAR one of the
/// virtio structures lies; the notification one adds notify_off_multiplier. Read-only.
/// </summary>
public sealed class VirtioStructureCapability(byte cfgType, int bar, uint offset, uint length, uint? notifyOffMultiplier = null) : PciCapability
{
    private const int CapLen = 2, CfgType = 3, BarField = 4, OffsetField = 8, LengthField = 12, NotifyOffMultiplier = 16;

    public override byte Id => 0x09;
    public override int Length => notifyOffMultiplier.HasValue ? 20 : 16;

    protected internal override void Initialise()
    {
        Set8(CapLen, (byte)Length);
        Set8(CfgType, cfgType);
        Set8(BarField, (byte)bar);
        Set32(OffsetField, offset);
        Set32(LengthField, length);
        if (notifyOffMultiplier is { } m) Set32(NotifyOffMultiplier, m);
    }
}

/// <summary>
/// struct virtio_pci_cfg_cap (4.1.4, PCI configuration access capability): a window into the BARs through configuration space, for drivers that
/// cannot map them. The driver writes bar, offset and length (1, 2 or 4, offset aligned to it), then reads or
/// writes pci_cfg_data, which reads or writes the BAR there; anything else reads 0 and writes nothing.
/// </summary>
public sealed class VirtioPciConfigAccess(PciFunction function) : PciCapability
{
    private const int CapLen = 2, CfgType = 3, BarField = 4, OffsetField = 8, LengthField = 12, Data = 16;

    public override byte Id => 0x09;
    public override int Length => 20;

    protected internal override void Initialise()
    {
        if (Owner != function) throw new InvalidOperationException("the PCI configuration access capability reaches its own function's BARs only");
        Set8(CapLen, (byte)Length);
        Set8(CfgType, VirtioPciFunction.PciCfg);
        SetWritable(BarField, 1, 0xFF);
        SetWritable(OffsetField, 4, 0xFFFF_FFFF);
        SetWritable(LengthField, 4, 0xFFFF_FFFF);
    }

    private bool Target(out int bar, out ulong offset, out int length)
    {
        bar = (int)(Get32(BarField) & 0xFF);
        offset = Get32(OffsetField);
        length = (int)Get32(LengthField);
        return length is 1 or 2 or 4 && (offset & (ulong)(length - 1)) == 0;
    }

    protected internal override bool ReadDynamic(int offset, int size, out uint value)
    {
        value = 0;
        if (offset < Data) return false;
        if (Target(out int bar, out ulong at, out int length) && Owner.BarRead(bar, at, length, out ulong read))
            value = (uint)(read >> (8 * (offset - Data)));
        if (size < 4) value &= (1u << (8 * size)) - 1;
        return true;
    }

    protected internal override void Written(int offset, int size, uint value)
    {
        if (offset != Data || !Target(out int bar, out ulong at, out int length) || size < length) return;
        Owner.BarWrite(bar, at, length, value);
    }
}
