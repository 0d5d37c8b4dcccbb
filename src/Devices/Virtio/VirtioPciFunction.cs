using System.Buffers.Binary;
using Jit.Devices.Pci;
using Jit.Runtime.Memory;

namespace Jit.Devices.Virtio;

/// <summary>
/// The virtio over PCI transport, modern (non-transitional) only (virtio 1.2 4.1): vendor 0x1AF4, device
/// 0x1040 + device type, revision 1. Register the function on a <see cref="PciHostBridge"/>; the guest finds
/// everything else through its capabilities.
/// </summary>
/// <remarks>
/// <para>BAR layout: BAR 0 (32-bit, 8 KiB) holds the MSI-X table (vector 0 up to one per queue plus one for
/// configuration changes) at 0 and the PBA at 0x1000. BAR 2 (64-bit, 16 KiB, not prefetchable: the ISR read
/// has side effects) holds the common configuration at 0, the ISR status at 0x1000, the device configuration at
/// 0x2000 and the notification area at 0x3000, four bytes a queue (queue_notify_off = queue index,
/// notify_off_multiplier = 4). The capability list has PCI Express, power management, MSI-X, the four virtio
/// structures and the PCI configuration access capability (4.1.4).</para>
/// <para>A notification is served at once on the writer's thread: the queue's chains are consumed and used, and
/// the interrupt (MSI-X vector, or INTx and the ISR when MSI-X is off) raised if the driver asked for it.
/// Only a live device (DRIVER_OK, not DEVICE_NEEDS_RESET) with bus mastering on touches guest memory.</para>
/// <para>A driver that breaks a queue's rules gets DEVICE_NEEDS_RESET and a configuration interrupt
/// (2.1), one log line per kind of fault and function, and nothing more from the device until it resets it.</para>
/// </remarks>
public sealed class VirtioPciFunction : PciFunction
{
    public const ushort VendorId = 0x1AF4;
    public const int MsixBar = 0, StructureBar = 2;
    public const uint CommonOffset = 0x0000, IsrOffset = 0x1000, DeviceOffset = 0x2000, NotifyOffset = 0x3000;
    public const uint NotifyOffMultiplier = 4;
    private const ulong MsixBarSize = 0x2000, PbaOffset = 0x1000, StructureBarSize = 0x4000;

    // 4.1.4: cfg_type of the virtio structure capabilities.
    public const byte CommonCfg = 1, NotifyCfg = 2, IsrCfg = 3, DeviceCfg = 4, PciCfg = 5;

    // 4.1.4.3: struct virtio_pci_common_cfg.
    private const int DeviceFeatureSelect = 0x00, DeviceFeature = 0x04, DriverFeatureSelect = 0x08, DriverFeature = 0x0C,
        ConfigMsixVector = 0x10, NumQueues = 0x12, DeviceStatus = 0x14, ConfigGeneration = 0x15, QueueSelect = 0x16,
        QueueSize = 0x18, QueueMsixVector = 0x1A, QueueEnable = 0x1C, QueueNotifyOff = 0x1E, QueueDesc = 0x20,
        QueueDriver = 0x28, QueueDevice = 0x30, CommonCfgLength = 0x38;

    private const byte IsrQueue = 1, IsrConfig = 2;
    private const ulong TransportFeatures = VirtioFeatures.Version1 | VirtioFeatures.RingEventIndex | VirtioFeatures.RingIndirectDescriptors;

    private readonly VirtioDevice device;
    private readonly VirtQueue[] queues;
    private readonly MsixCapability msix;
    private readonly ulong offeredFeatures;
    private uint deviceFeatureSelect, driverFeatureSelect;
    private ulong driverFeatures;
    private ushort configVector = VirtQueue.NoVector, queueSelect;
    private byte status, configGeneration, isr;

    /// <param name="dma">Where the device's queues and buffers are read and written: the domain's memory, or its stream on an IOMMU.</param>
    /// <param name="accessPlatform">Offer <see cref="VirtioFeatures.AccessPlatform"/>: <paramref name="dma"/> translates (an SMMU stream), so the driver must map what it hands the device.</param>
    public VirtioPciFunction(VirtioDevice device, IDmaPort dma, bool accessPlatform = false)
        : base(new PciIdentity(VendorId, (ushort)(0x1040 + device.DeviceType), device.PciClassCode, RevisionId: 1,
            SubsystemVendorId: VendorId, SubsystemId: 0x40), interruptPin: 1)
    {
        if (device.QueueCount is < 1 or > 1024 || device.MaxQueueSize is 0 or > 32768 || (device.MaxQueueSize & (device.MaxQueueSize - 1)) != 0)
            throw new ArgumentException($"{device.Name}: 1 to 1024 queues of a power-of-two size up to 32768");
        if (device.ConfigSize > 0x1000) throw new ArgumentException($"{device.Name}: configuration larger than 4 KiB");
        this.device = device;
        device.Attach(this);
        offeredFeatures = device.DeviceFeatures | TransportFeatures | (accessPlatform ? VirtioFeatures.AccessPlatform : 0);
        queues = new VirtQueue[device.QueueCount];
        for (int i = 0; i < queues.Length; i++) queues[i] = new VirtQueue(i, device.MaxQueueSize, dma, QueueFault);

        int vectors = Math.Min(queues.Length + 1, 256);
        msix = new MsixCapability(vectors, MsixBar, 0, MsixBar, (uint)PbaOffset);
        DefineBar(MsixBar, PciBarKind.Memory32, MsixBarSize,
            new PciBarWindow("virtio-msix", MsixBarSize).Add(0, msix.Table).Add(PbaOffset, msix.PendingBitArray));
        var structures = new PciBarWindow("virtio-structures", StructureBarSize)
            .Add(CommonOffset, new Block(this, "virtio-common", 0x1000, CommonRead, CommonWrite))
            .Add(IsrOffset, new Block(this, "virtio-isr", 0x1000, IsrRead, (_, _, _) => { }))
            .Add(DeviceOffset, new Block(this, "virtio-device", 0x1000, DeviceConfigRead, DeviceConfigWrite))
            .Add(NotifyOffset, new Block(this, "virtio-notify", 0x1000, (_, _) => 0, NotifyWrite));
        DefineBar(StructureBar, PciBarKind.Memory64, StructureBarSize, structures);

        AddCapability(new PciExpressCapability());
        AddCapability(new PowerManagementCapability());
        AddCapability(msix);
        AddCapability(new VirtioStructureCapability(CommonCfg, StructureBar, CommonOffset, CommonCfgLength));
        AddCapability(new VirtioStructureCapability(NotifyCfg, StructureBar, NotifyOffset, NotifyOffMultiplier * (uint)queues.Length, NotifyOffMultiplier));
        AddCapability(new VirtioStructureCapability(IsrCfg, StructureBar, IsrOffset, 1));
        if (device.ConfigSize > 0) AddCapability(new VirtioStructureCapability(DeviceCfg, StructureBar, DeviceOffset, (uint)device.ConfigSize));
        AddCapability(new VirtioPciConfigAccess(this));
    }

    public override string Name => device.Name;

    public VirtioDevice Device => device;

    /// <summary>device_status as the driver reads it.</summary>
    public byte Status { get { lock (Gate) return status; } }

    private bool Live => (status & (VirtioDeviceStatus.DriverOk | VirtioDeviceStatus.DeviceNeedsReset | VirtioDeviceStatus.Failed)) == VirtioDeviceStatus.DriverOk;

    // ---- common configuration (4.1.4.3) ----

    private ulong CommonRead(ulong offset, int size)
    {
        VirtQueue? q = queueSelect < queues.Length ? queues[queueSelect] : null;
        switch ((int)offset, size)
        {
            case (DeviceFeatureSelect, 4): return deviceFeatureSelect;
            case (DeviceFeature, 4): return deviceFeatureSelect < 2 ? (uint)(offeredFeatures >> (32 * (int)deviceFeatureSelect)) : 0;
            case (DriverFeatureSelect, 4): return driverFeatureSelect;
            case (DriverFeature, 4): return driverFeatureSelect < 2 ? (uint)(driverFeatures >> (32 * (int)driverFeatureSelect)) : 0;
            case (ConfigMsixVector, 2): return configVector;
            case (NumQueues, 2): return (ulong)queues.Length;
            case (DeviceStatus, 1): return status;
            case (ConfigGeneration, 1): return configGeneration;
            case (QueueSelect, 2): return queueSelect;
            // 4.1.4.3: a queue that does not exist reads size 0.
            case (QueueSize, 2): return q?.Size ?? 0;
            case (QueueMsixVector, 2): return q?.MsixVector ?? VirtQueue.NoVector;
            case (QueueEnable, 2): return q is { Enabled: true } ? 1UL : 0;
            case (QueueNotifyOff, 2): return queueSelect;
            case (QueueDesc, 8): return q?.DescriptorArea ?? 0;
            case (QueueDriver, 8): return q?.DriverArea ?? 0;
            case (QueueDevice, 8): return q?.DeviceArea ?? 0;
            case (QueueDesc or QueueDriver or QueueDevice, 4): return (uint)Area(q, (int)offset);
            case (QueueDesc + 4 or QueueDriver + 4 or QueueDevice + 4, 4): return Area(q, (int)offset - 4) >> 32;
            default:
                LogOnce("common-read", $"{size}-byte read of common configuration at 0x{offset:x} reads 0");
                return 0;
        }
    }

    private static ulong Area(VirtQueue? q, int field) => q == null ? 0 : field switch
    {
        QueueDesc => q.DescriptorArea,
        QueueDriver => q.DriverArea,
        _ => q.DeviceArea,
    };

    private void CommonWrite(ulong offset, int size, ulong value)
    {
        VirtQueue? q = queueSelect < queues.Length ? queues[queueSelect] : null;
        // 4.1.4.3: queue fields of an enabled queue, and features once accepted, are the driver's no more.
        bool queueWritable = q is { Enabled: false };
        switch ((int)offset, size)
        {
            case (DeviceFeatureSelect, 4): deviceFeatureSelect = (uint)value; break;
            case (DriverFeatureSelect, 4): driverFeatureSelect = (uint)value; break;
            case (DriverFeature, 4):
                if ((status & VirtioDeviceStatus.FeaturesOk) == 0 && driverFeatureSelect < 2)
                {
                    int shift = 32 * (int)driverFeatureSelect;
                    driverFeatures = (driverFeatures & ~(0xFFFF_FFFFUL << shift)) | (value & 0xFFFF_FFFF) << shift;
                }
                break;
            case (ConfigMsixVector, 2): configVector = UsableVector((ushort)value); break;
            case (DeviceStatus, 1): WriteStatus((byte)value); break;
            case (QueueSelect, 2): queueSelect = (ushort)value; break;
            case (QueueSize, 2):
                ushort requested = (ushort)value;
                if (queueWritable && requested != 0 && requested <= q!.MaxSize && (requested & (requested - 1)) == 0) q.Size = requested;
                break;
            case (QueueMsixVector, 2): if (q != null) q.MsixVector = UsableVector((ushort)value); break;
            case (QueueEnable, 2): if (queueWritable && value == 1) q!.Enable(); break;
            case (QueueDesc, 8): if (queueWritable) q!.DescriptorArea = value; break;
            case (QueueDriver, 8): if (queueWritable) q!.DriverArea = value; break;
            case (QueueDevice, 8): if (queueWritable) q!.DeviceArea = value; break;
            case (QueueDesc or QueueDriver or QueueDevice or QueueDesc + 4 or QueueDriver + 4 or QueueDevice + 4, 4):
                if (queueWritable) SetAreaHalf(q!, (int)offset, (uint)value);
                break;
            default:
                LogOnce("common-write", $"{size}-byte write of common configuration at 0x{offset:x} ignored");
                break;
        }
    }

    private static void SetAreaHalf(VirtQueue q, int offset, uint value)
    {
        int field = offset & ~7, shift = (offset & 4) * 8;
        ulong old = Area(q, field), mask = 0xFFFF_FFFFUL << shift;
        ulong merged = (old & ~mask) | (ulong)value << shift;
        if (field == QueueDesc) q.DescriptorArea = merged;
        else if (field == QueueDriver) q.DriverArea = merged;
        else q.DeviceArea = merged;
    }

    /// <summary>4.1.5.1, MSI-X vector configuration: a vector the table does not have reads back as NO_VECTOR, which is how the driver learns it failed.</summary>
    private ushort UsableVector(ushort vector) => vector < msix.Vectors ? vector : VirtQueue.NoVector;

    private void WriteStatus(byte value)
    {
        if (value == 0)
        {
            ResetDevice();
            return;
        }
        byte old = status;
        // DEVICE_NEEDS_RESET is the device's to set; the driver only ever writes back what it read.
        byte next = (byte)((value & ~VirtioDeviceStatus.DeviceNeedsReset) | (old & VirtioDeviceStatus.DeviceNeedsReset));
        if ((next & VirtioDeviceStatus.FeaturesOk) != 0 && (old & VirtioDeviceStatus.FeaturesOk) == 0)
        {
            // 2.2: a subset of what was offered; and a modern driver, which accepts VIRTIO_F_VERSION_1 (6).
            if ((driverFeatures & ~offeredFeatures) != 0 || (driverFeatures & VirtioFeatures.Version1) == 0)
            {
                LogOnce("features", $"refused driver features 0x{driverFeatures:x} (offered 0x{offeredFeatures:x})");
                next &= unchecked((byte)~VirtioDeviceStatus.FeaturesOk);
            }
            else
            {
                device.NegotiatedFeatures = driverFeatures;
                foreach (var q in queues)
                {
                    q.EventIndex = (driverFeatures & VirtioFeatures.RingEventIndex) != 0;
                    q.IndirectDescriptors = (driverFeatures & VirtioFeatures.RingIndirectDescriptors) != 0;
                }
            }
        }
        status = next;
        if ((next & VirtioDeviceStatus.DriverOk) != 0 && (old & VirtioDeviceStatus.DriverOk) == 0) device.DriverReady();
    }

    protected override void FunctionReset() => ResetDevice();

    private void ResetDevice()
    {
        status = 0;
        deviceFeatureSelect = driverFeatureSelect = 0;
        driverFeatures = 0;
        configVector = VirtQueue.NoVector;
        queueSelect = 0;
        foreach (var q in queues) q.Reset();
        isr = 0;
        SetInterruptLevel(false);
        device.NegotiatedFeatures = 0;
        device.Reset();
    }

    // ---- ISR, device configuration, notifications ----

    private ulong IsrRead(ulong offset, int size)
    {
        if (offset != 0) return 0;
        // 4.1.4.5: reading the ISR status clears it and de-asserts the INTx line.
        byte value = isr;
        isr = 0;
        SetInterruptLevel(false);
        return value;
    }

    private ulong DeviceConfigRead(ulong offset, int size)
    {
        if (offset + (ulong)size > (ulong)device.ConfigSize) return 0;
        Span<byte> data = stackalloc byte[8];
        data.Clear();
        device.ReadConfig((int)offset, data[..size]);
        return BinaryPrimitives.ReadUInt64LittleEndian(data);
    }

    private void DeviceConfigWrite(ulong offset, int size, ulong value)
    {
        if (offset + (ulong)size > (ulong)device.ConfigSize) return;
        Span<byte> data = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        device.WriteConfig((int)offset, data[..size]);
    }

    private void NotifyWrite(ulong offset, int size, ulong value)
    {
        // The address names the queue; the value (the queue index, 4.1.5.2) adds nothing.
        ulong index = offset / NotifyOffMultiplier;
        if (index < (ulong)queues.Length) ProcessQueue(queues[index]);
    }

    internal void Kick(int queue)
    {
        lock (Gate) ProcessQueue(queues[queue]);
    }

    private void ProcessQueue(VirtQueue q)
    {
        if (!Live || !q.Enabled || q.Broken) return;
        if (!BusMasterEnabled)
        {
            LogOnce("no-bus-master", "notified with bus mastering off; the queue waits");
            return;
        }
        ushort usedBefore = q.UsedIndex;
        while (true)
        {
            ushort availBefore = q.LastAvailIndex;
            device.QueueNotified(q);
            q.PublishAvailEvent();
            // With EVENT_IDX the driver may have added buffers before it saw the new avail_event, without notifying.
            if (q.Broken || q.LastAvailIndex == availBefore || !q.HasAvailable()) break;
        }
        if (q.NeedsInterrupt(usedBefore)) SignalQueue(q);
    }

    // ---- interrupts ----

    private void SignalQueue(VirtQueue q)
    {
        if (msix.Enabled)
        {
            if (q.MsixVector != VirtQueue.NoVector) msix.Signal(q.MsixVector);
            return;
        }
        isr |= IsrQueue;
        SetInterruptLevel(true);
    }

    internal void ConfigChanged()
    {
        lock (Gate)
        {
            configGeneration++;
            SignalConfig();
        }
    }

    private void SignalConfig()
    {
        if ((status & VirtioDeviceStatus.DriverOk) == 0) return;
        if (msix.Enabled)
        {
            if (configVector != VirtQueue.NoVector) msix.Signal(configVector);
            return;
        }
        isr |= IsrConfig;
        SetInterruptLevel(true);
    }

    private void QueueFault(VirtQueue q, string kind, string detail)
    {
        LogOnce("fault:" + kind, $"queue {q.Index}: {detail}; device needs reset");
        if ((status & VirtioDeviceStatus.DeviceNeedsReset) != 0) return;
        status |= VirtioDeviceStatus.DeviceNeedsReset;
        SignalConfig();
    }

    /// <summary>One structure of the BAR: reads and writes of the sizes 4.1.3 lets a driver make (1, 2, 4, 8), under the function's lock.</summary>
    private sealed class Block(VirtioPciFunction owner, string name, ulong size, Func<ulong, int, ulong> read, Action<ulong, int, ulong> write) : IMmioDevice
    {
        public string Name => name;
        public ulong WindowSize => size;

        public bool Read(ulong offset, int size, out ulong value)
        {
            lock (owner.Gate) value = read(offset, size);
            return true;
        }

        public bool Write(ulong offset, int size, ulong value)
        {
            lock (owner.Gate) write(offset, size, value);
            return true;
        }
    }
}
