using System.Runtime.CompilerServices;
using Jit.Runtime;

namespace Jit.Devices.Virtio;

/// <summary>Feature bits every transport shares (virtio 1.2 6, "Reserved Feature Bits").</summary>
public static class VirtioFeatures
{
    public const ulong RingIndirectDescriptors = 1UL << 28;
    public const ulong RingEventIndex = 1UL << 29;
    public const ulong Version1 = 1UL << 32;
    /// <summary>
    /// VIRTIO_F_ACCESS_PLATFORM: the device's accesses go through the platform's DMA translation (an IOMMU), so the
    /// driver must give it DMA addresses, not physical ones. Linux's virtio core uses the DMA API only with it.
    /// </summary>
    public const ulong AccessPlatform = 1UL << 33;
}

/// <summary>device_status bits (virtio 1.2 2.1).</summary>
public static class VirtioDeviceStatus
{
    public const byte Acknowledge = 1, Driver = 2, DriverOk = 4, FeaturesOk = 8, DeviceNeedsReset = 64, Failed = 128;
}

/// <summary>
/// A virtio device type (block, entropy, console, ...) without its transport: its feature bits, queues and
/// configuration layout, and what it does with a queue's buffers. The transport owns negotiation, status,
/// queue setup and interrupts, and calls in under its lock, one call at a time.
/// </summary>
public abstract class VirtioDevice
{
    private VirtioPciFunction? transport;

    /// <summary>The Device ID of virtio 1.2 5 (1 network, 2 block, 3 console, 4 entropy).</summary>
    public abstract ushort DeviceType { get; }

    /// <summary>For logs, e.g. "virtio-blk".</summary>
    public abstract string Name { get; }

    /// <summary>The PCI class code the function reports (base class, sub-class, interface).</summary>
    public abstract uint PciClassCode { get; }

    /// <summary>The device-type feature bits offered; the transport adds VERSION_1, EVENT_IDX and INDIRECT_DESC.</summary>
    public abstract ulong DeviceFeatures { get; }

    public abstract int QueueCount { get; }

    public virtual ushort MaxQueueSize => 256;

    /// <summary>Bytes of device-specific configuration; accesses beyond read 0.</summary>
    public abstract int ConfigSize { get; }

    /// <summary>What the driver accepted with FEATURES_OK; 0 before.</summary>
    public ulong NegotiatedFeatures { get; internal set; }

    /// <summary>Fills <paramref name="data"/> from the little-endian configuration at <paramref name="offset"/>.</summary>
    public abstract void ReadConfig(int offset, Span<byte> data);

    /// <summary>Writes to the configuration; most fields are read-only, so the default ignores them.</summary>
    public virtual void WriteConfig(int offset, ReadOnlySpan<byte> data) { }

    /// <summary>The driver notified <paramref name="queue"/>, or the device kicked it: consume what it can.</summary>
    protected internal abstract void QueueNotified(VirtQueue queue);

    /// <summary>The device was reset (device_status written 0): back to the state after construction.</summary>
    protected internal virtual void Reset() { }

    /// <summary>The driver set DRIVER_OK: queues are live.</summary>
    protected internal virtual void DriverReady() { }

    internal void Attach(VirtioPciFunction function)
    {
        if (transport != null) throw new InvalidOperationException($"{Name} has a transport already");
        transport = function;
    }

    /// <summary>
    /// Processes <paramref name="queue"/> as if the driver had notified it, from any thread: how a device with
    /// input from outside (a console, a network backend) fills the receive buffers the driver posted.
    /// </summary>
    protected void Kick(int queue) => transport?.Kick(queue);

    /// <summary>Tells the driver the configuration changed (a new generation and a configuration interrupt).</summary>
    protected void ConfigChanged() => transport?.ConfigChanged();

    protected bool Negotiated(ulong feature) => (NegotiatedFeatures & feature) != 0;

    /// <summary>Logs "NAME bb:dd.f: message" the first time this device meets <paramref name="what"/>, so a guest cannot flood the log.</summary>
    protected void LogOnce(string what, string message)
    {
        if (transport != null) transport.LogOnce(what, message);
        else Log.Once($"{Name}:{what}:{RuntimeHelpers.GetHashCode(this)}", $"{Name}: {message}");
    }
}
