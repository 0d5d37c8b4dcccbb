using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Jit.Runtime;
using Jit.Runtime.Interrupts;

namespace Jit.Devices.Pci;

/// <summary>What a function says it is in its type 0 header (PCI 3.0 6.2.1).</summary>
/// <param name="ClassCode">Base class, sub-class and programming interface, as the 24 bits at 0x09 read.</param>
public readonly record struct PciIdentity(
    ushort VendorId, ushort DeviceId, uint ClassCode, byte RevisionId, ushort SubsystemVendorId, ushort SubsystemId);

/// <summary>The memory BAR kinds a function may have (I/O BARs are not modelled: Arm has no I/O space).</summary>
public enum PciBarKind
{
    Memory32,
    Memory64,
    Memory64Prefetchable,
}

/// <summary>A memory range a function decodes right now: an assigned BAR with memory space enabled, in D0.</summary>
public readonly record struct PciDecodedBar(ulong Address, ulong Size, int Bar);

/// <summary>
/// One PCI Express function with a type 0 configuration header, as its bridge's ECAM window shows it. The 4 KiB
/// of configuration space is bytes with two masks, as the specification words each bit: writable by software, or
/// write-1-to-clear; every other bit (reserved, read-only, hardware-owned) ignores writes, and registers nobody
/// defined read 0. BARs are sized and placed by the guest through that same mask, and claim their MMIO range only
/// while memory space decoding is on and the function is in D0. Capabilities hang off the list at 0x34.
/// </summary>
/// <remarks>
/// One lock (<see cref="Gate"/>) serialises configuration accesses, BAR accesses and a subclass's own work
/// (queue processing, interrupt delivery), so a device sees one access at a time whichever vCPU makes it.
/// MSIs are delivered under it: the sink (the ITS) never calls back into a device.
/// </remarks>
public abstract class PciFunction
{
    public const int ConfigSpaceSize = 4096;

    // PCI 3.0 6.1, type 0 header.
    public const int VendorIdRegister = 0x00, DeviceIdRegister = 0x02, CommandRegister = 0x04, StatusRegister = 0x06,
        RevisionIdRegister = 0x08, ClassCodeRegister = 0x09, CacheLineSizeRegister = 0x0C, HeaderTypeRegister = 0x0E,
        BarRegister0 = 0x10, SubsystemVendorIdRegister = 0x2C, SubsystemIdRegister = 0x2E,
        CapabilitiesPointerRegister = 0x34, InterruptLineRegister = 0x3C, InterruptPinRegister = 0x3D;

    // PCI 3.0 6.2.2 and PCIe 7.5.1.1: Command bits this model implements. I/O space stays 0 (no I/O BARs).
    public const ushort CommandMemorySpace = 1 << 1, CommandBusMaster = 1 << 2, CommandParityErrorResponse = 1 << 6,
        CommandSerrEnable = 1 << 8, CommandInterruptDisable = 1 << 10;

    // Status: interrupt status and capabilities list are read-only; the error bits are RW1C.
    public const ushort StatusInterrupt = 1 << 3, StatusCapabilitiesList = 1 << 4;
    private const ushort StatusErrorBits = 0xF900; // master data parity, signalled/received aborts, SERR, parity

    private const int FirstCapabilityOffset = 0x40, HeaderBytes = 0x40;
    private const int BarCount = 6;

    private readonly byte[] config = new byte[ConfigSpaceSize];
    private readonly byte[] writable = new byte[ConfigSpaceSize];
    private readonly byte[] clearOnWrite = new byte[ConfigSpaceSize];
    private readonly List<PciCapability> capabilities = [];
    private readonly BarSlot?[] bars = new BarSlot?[BarCount];
    private PowerManagementCapability? powerManagement;
    private int nextCapabilityOffset = FirstCapabilityOffset;
    private int lastCapabilityNext = CapabilitiesPointerRegister;
    private bool interruptLevel;
    private PciDecodedBar[] decoded = [];

    private sealed record BarSlot(PciBarKind Kind, ulong Size, IMmioDevice Window);

    protected PciFunction(PciIdentity identity, byte interruptPin = 1)
    {
        Identity = identity;
        Set16(VendorIdRegister, identity.VendorId);
        Set16(DeviceIdRegister, identity.DeviceId);
        config[RevisionIdRegister] = identity.RevisionId;
        config[ClassCodeRegister] = (byte)identity.ClassCode;
        config[ClassCodeRegister + 1] = (byte)(identity.ClassCode >> 8);
        config[ClassCodeRegister + 2] = (byte)(identity.ClassCode >> 16);
        Set16(SubsystemVendorIdRegister, identity.SubsystemVendorId);
        Set16(SubsystemIdRegister, identity.SubsystemId);
        if (interruptPin > 4) throw new ArgumentOutOfRangeException(nameof(interruptPin));
        config[InterruptPinRegister] = interruptPin;
        SetWritable(CommandRegister, 2, (ulong)(CommandMemorySpace | CommandBusMaster | CommandParityErrorResponse
            | CommandSerrEnable | (interruptPin != 0 ? CommandInterruptDisable : 0)));
        SetClearOnWrite(StatusRegister, 2, StatusErrorBits);
        // PCIe 7.5.1.1, Cache Line Size: read-write though it changes nothing.
        SetWritable(CacheLineSizeRegister, 1, 0xFF);
        SetWritable(InterruptLineRegister, 1, 0xFF);
    }

    public PciIdentity Identity { get; }

    /// <summary>A short name for logs, e.g. "virtio-blk".</summary>
    public abstract string Name { get; }

    /// <summary>Serialises everything the function does; subclasses take it around their own state.</summary>
    protected object Gate { get; } = new();

    /// <summary>Bus, device and function number as the requester ID (bus &lt;&lt; 8 | device &lt;&lt; 3 | function); the MSI DeviceID.</summary>
    public ushort RequesterId { get; private set; }

    /// <summary>"bb:dd.f", for messages.</summary>
    public string Location => $"{RequesterId >> 8:x2}:{(RequesterId >> 3) & 31:x2}.{RequesterId & 7}";

    public bool MemorySpaceEnabled => (Get16(CommandRegister) & CommandMemorySpace) != 0;

    /// <summary>Whether the function may master the bus: DMA and MSIs (which are memory writes) need it.</summary>
    public bool BusMasterEnabled => (Get16(CommandRegister) & CommandBusMaster) != 0;

    /// <summary>The ranges this function claims now; replaced (never changed) when decoding changes, so readers need no lock.</summary>
    public PciDecodedBar[] DecodedBars => Volatile.Read(ref decoded);

    internal IMsiSink MsiSink { get; private set; } = NoMsiSink.Instance;
    private IInterruptLine intx = UnconnectedLine.Instance;
    private Action? decodingChanged;
    private bool multiFunction;

    /// <summary>
    /// Logs "NAME bb:dd.f: message" the first time this function meets <paramref name="what"/>: a guest that
    /// repeats a mistake cannot flood the log, and another function's (another domain's) mistake is still heard.
    /// </summary>
    protected internal void LogOnce(string what, string message) =>
        Log.Once($"{Name}:{Location}:{what}:{RuntimeHelpers.GetHashCode(this)}", $"{Name} {Location}: {message}");

    /// <summary>Called by the bridge that registers the function.</summary>
    internal void Attach(ushort requesterId, IMsiSink msi, IInterruptLine intxLine, Action onDecodingChanged)
    {
        lock (Gate)
        {
            if (decodingChanged != null) throw new InvalidOperationException($"{Name} {Location} is on a bridge already");
            RequesterId = requesterId;
            MsiSink = msi;
            intx = intxLine;
            decodingChanged = onDecodingChanged;
            DriveIntx();
            Attached(intxLine);
        }
    }

    internal void Detach()
    {
        lock (Gate)
        {
            intx.SetLevel(false);
            intx = UnconnectedLine.Instance;
            MsiSink = NoMsiSink.Instance;
            decodingChanged = null;
            Detached();
        }
    }

    /// <summary>Heard, under <see cref="Gate"/>, when a bridge has given the function its requester ID, MSI sink and INTx line.</summary>
    private protected virtual void Attached(IInterruptLine intxLine) { }

    /// <summary>Heard, under <see cref="Gate"/>, when the function left its bridge.</summary>
    private protected virtual void Detached() { }

    /// <summary>Runs <paramref name="action"/> while the function does nothing else: no access, no DMA, no interrupt.</summary>
    internal void Quiesced(Action action)
    {
        lock (Gate) action();
    }

    /// <summary>Header type bit 7: function 0 says so when its device has other functions, or those are never scanned.</summary>
    internal void SetMultiFunction(bool value)
    {
        lock (Gate) multiFunction = value;
    }

    // ---- configuration space as the bridge reaches it ----

    /// <summary>A naturally aligned access of 1, 2 or 4 bytes at <paramref name="offset"/> (below 4096).</summary>
    public virtual uint ReadConfig(int offset, int size)
    {
        CheckAccess(offset, size);
        lock (Gate)
        {
            foreach (var cap in capabilities)
                if (offset >= cap.Offset && offset < cap.Offset + cap.Length
                    && cap.ReadDynamic(offset - cap.Offset, size, out uint dynamic))
                    return dynamic;
            uint value = 0;
            for (int i = size - 1; i >= 0; i--) value = value << 8 | config[offset + i];
            if (offset <= HeaderTypeRegister && offset + size > HeaderTypeRegister && multiFunction)
                value |= 0x80u << (8 * (HeaderTypeRegister - offset));
            return value;
        }
    }

    /// <summary>A naturally aligned write of 1, 2 or 4 bytes; bits the specification makes read-only keep their value.</summary>
    public virtual void WriteConfig(int offset, int size, uint value)
    {
        CheckAccess(offset, size);
        lock (Gate)
        {
            ushort oldCommand = Get16(CommandRegister);
            for (int i = 0; i < size; i++)
            {
                byte b = (byte)(value >> (8 * i));
                int at = offset + i;
                config[at] = (byte)((config[at] & ~writable[at]) | (b & writable[at]));
                config[at] &= (byte)~(b & clearOnWrite[at]);
            }
            int end = offset + size;
            if (offset < CommandRegister + 2 && end > CommandRegister)
            {
                ushort changed = (ushort)(oldCommand ^ Get16(CommandRegister));
                if ((changed & CommandInterruptDisable) != 0) DriveIntx();
                if ((changed & CommandMemorySpace) != 0) RecomputeDecoding();
                if ((changed & CommandBusMaster) != 0) BusMasterChanged();
            }
            if (offset < BarRegister0 + 4 * BarCount && end > BarRegister0) RecomputeDecoding();
            foreach (var cap in capabilities)
                if (offset < cap.Offset + cap.Length && end > cap.Offset)
                    cap.Written(offset - cap.Offset, size, value);
        }
    }

    /// <summary>The bridge checks the guest's accesses; anything else reaching here is a bug in the caller.</summary>
    private protected static void CheckAccess(int offset, int size)
    {
        if (size is not (1 or 2 or 4) || (offset & (size - 1)) != 0 || (uint)offset > ConfigSpaceSize - size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{size}-byte configuration access at 0x{offset:x}");
    }

    // ---- BARs ----

    /// <summary>
    /// Declares BAR <paramref name="index"/> (and the next one for a 64-bit BAR) with a power-of-two
    /// <paramref name="size"/>; <paramref name="window"/> serves accesses at offsets inside it.
    /// </summary>
    protected void DefineBar(int index, PciBarKind kind, ulong size, IMmioDevice window)
    {
        bool wide = kind != PciBarKind.Memory32;
        if (index < 0 || index + (wide ? 1 : 0) >= BarCount || bars[index] != null || (index > 0 && bars[index - 1] is { Kind: not PciBarKind.Memory32 }))
            throw new ArgumentException($"BAR {index} is taken or out of range");
        if (size < 16 || (size & (size - 1)) != 0 || (!wide && size > 1UL << 31) || window.WindowSize < size)
            throw new ArgumentException($"BAR {index}: size 0x{size:x} is not a power of two of at least 16 that its window covers");
        bars[index] = new BarSlot(kind, size, window);
        int reg = BarRegister0 + 4 * index;
        // PCI 3.0 6.2.5.1: bit 0 memory, bits 2:1 type (0 = 32-bit, 2 = 64-bit), bit 3 prefetchable; the address
        // bits below the size read 0 whatever is written, which is how software finds the size.
        uint type = kind switch { PciBarKind.Memory32 => 0u, PciBarKind.Memory64 => 4u, _ => 0xCu };
        Set32(reg, type);
        ulong addressMask = ~(size - 1);
        SetWritable(reg, 4, (uint)addressMask & 0xFFFF_FFF0);
        if (wide) SetWritable(reg + 4, 4, (uint)(addressMask >> 32));
    }

    /// <summary>The BARs the function defined: index, kind and size, in index order.</summary>
    internal IEnumerable<(int Index, PciBarKind Kind, ulong Size)> DefinedBars()
    {
        for (int i = 0; i < BarCount; i++)
            if (bars[i] is { } slot) yield return (i, slot.Kind, slot.Size);
    }

    /// <summary>The capability list in order; its structure is fixed when the function is made.</summary>
    internal IReadOnlyList<PciCapability> CapabilityList => capabilities;

    /// <summary>The address the guest gave BAR <paramref name="index"/> (both halves of a 64-bit one).</summary>
    public ulong BarAddress(int index)
    {
        lock (Gate)
        {
            var slot = bars[index] ?? throw new ArgumentException($"BAR {index} is not defined");
            int reg = BarRegister0 + 4 * index;
            ulong address = Get32(reg) & 0xFFFF_FFF0u;
            if (slot.Kind != PciBarKind.Memory32) address |= (ulong)Get32(reg + 4) << 32;
            return address;
        }
    }

    /// <summary>An access the bridge routed to BAR <paramref name="bar"/>; false rejects it (the guest gets an abort).</summary>
    internal bool BarRead(int bar, ulong offset, int size, out ulong value)
    {
        value = 0;
        lock (Gate) return InBar(bar, offset, size) && bars[bar]!.Window.Read(offset, size, out value);
    }

    internal bool BarWrite(int bar, ulong offset, int size, ulong value)
    {
        lock (Gate) return InBar(bar, offset, size) && bars[bar]!.Window.Write(offset, size, value);
    }

    private bool InBar(int bar, ulong offset, int size) =>
        (uint)bar < BarCount && bars[bar] is { } slot && offset < slot.Size && (ulong)size <= slot.Size - offset;

    private void RecomputeDecoding()
    {
        var list = new List<PciDecodedBar>(BarCount);
        bool on = MemorySpaceEnabled && (powerManagement?.PowerState ?? 0) == 0;
        for (int i = 0; on && i < BarCount; i++)
            if (bars[i] is { } slot) list.Add(new PciDecodedBar(BarAddress(i), slot.Size, i));
        var next = list.ToArray();
        if (next.AsSpan().SequenceEqual(decoded)) return;
        Volatile.Write(ref decoded, next);
        decodingChanged?.Invoke();
    }

    // ---- interrupts ----

    /// <summary>Sets the function's INTx level; the pin follows it unless Interrupt Disable is set (PCI 3.0 6.2.2).</summary>
    protected void SetInterruptLevel(bool asserted)
    {
        lock (Gate)
        {
            interruptLevel = asserted;
            if (asserted) config[StatusRegister] |= (byte)StatusInterrupt;
            else config[StatusRegister] &= unchecked((byte)~StatusInterrupt);
            DriveIntx();
        }
    }

    private void DriveIntx() =>
        intx.SetLevel(interruptLevel && (Get16(CommandRegister) & CommandInterruptDisable) == 0 && config[InterruptPinRegister] != 0);

    /// <summary>Heard when the guest turns bus mastering on or off.</summary>
    protected virtual void BusMasterChanged() { }

    // ---- reset ----

    /// <summary>
    /// A conventional reset of the function, as before it is handed to another domain: the header's software
    /// state (command, error status, BAR addresses, interrupt line, cache line size) and every capability back
    /// to their reset values, INTx deasserted, and the device's own state reset (<see cref="FunctionReset"/>).
    /// Identity, BAR sizes and the capability list are the function's and stay.
    /// </summary>
    public void Reset()
    {
        lock (Gate)
        {
            interruptLevel = false;
            for (int at = 0; at < HeaderBytes; at++)
                config[at] &= (byte)~(writable[at] | clearOnWrite[at]);
            config[StatusRegister] &= unchecked((byte)~StatusInterrupt);
            foreach (var cap in capabilities)
            {
                Array.Clear(config, cap.Offset + 2, cap.Length - 2);
                cap.Initialise();
                cap.Reset();
            }
            DriveIntx();
            FunctionReset();
            RecomputeDecoding();
        }
    }

    /// <summary>The device's part of <see cref="Reset"/>.</summary>
    protected virtual void FunctionReset() { }

    // ---- capabilities ----

    /// <summary>Links <paramref name="capability"/> into the list, 4-byte aligned after the last one.</summary>
    protected T AddCapability<T>(T capability) where T : PciCapability
    {
        int length = (capability.Length + 3) & ~3;
        if (capability.Function != null || nextCapabilityOffset + length > 0x100)
            throw new InvalidOperationException($"{capability.GetType().Name} does not fit in the capability list");
        capability.Attach(this, nextCapabilityOffset);
        config[capability.Offset] = capability.Id;
        config[lastCapabilityNext] = (byte)capability.Offset;
        lastCapabilityNext = capability.Offset + 1;
        nextCapabilityOffset += length;
        config[StatusRegister] |= (byte)StatusCapabilitiesList;
        capabilities.Add(capability);
        capability.Initialise();
        if (capability is PowerManagementCapability pm) powerManagement = pm;
        return capability;
    }

    internal void PowerStateChanged() => RecomputeDecoding();

    // ---- raw access for capabilities and subclasses ----

    protected internal ushort Get16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(config.AsSpan(offset));
    protected internal uint Get32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(offset));
    protected internal byte Get8(int offset) => config[offset];
    protected internal void Set8(int offset, byte value) => config[offset] = value;
    protected internal void Set16(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(offset), value);
    protected internal void Set32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(offset), value);

    /// <summary>Makes the bits of <paramref name="mask"/> in the <paramref name="length"/>-byte register at <paramref name="offset"/> software-writable.</summary>
    protected internal void SetWritable(int offset, int length, ulong mask)
    {
        for (int i = 0; i < length; i++) writable[offset + i] = (byte)(mask >> (8 * i));
    }

    protected internal void SetClearOnWrite(int offset, int length, ulong mask)
    {
        for (int i = 0; i < length; i++) clearOnWrite[offset + i] = (byte)(mask >> (8 * i));
    }

    private sealed class NoMsiSink : IMsiSink
    {
        public static readonly NoMsiSink Instance = new();
        public bool Deliver(ulong address, uint data, uint deviceId) => false;
    }
}
