namespace Jit.Devices;

/// <summary>
/// Where a PCI function's message-signalled interrupts go: an MSI is a 32-bit DMA write of the message data to
/// the message address, tagged with the writer's DeviceID (its requester ID through the bridge's msi-map). The
/// domain's ITS accepts it at its GITS_TRANSLATER doorbell (data = EventID); with an SMMU the write is first
/// translated by the device's stream, like any other DMA.
/// </summary>
public interface IMsiSink
{
    /// <summary>False when nothing accepts a write at <paramref name="address"/>: the write is dropped.</summary>
    bool Deliver(ulong address, uint data, uint deviceId);
}
