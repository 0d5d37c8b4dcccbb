using Jit.Runtime.Memory;

namespace Jit.Devices.Pci;

/// <summary>
/// The bus-master port of a device that moves between domains (device assignment): it forwards every access to
/// the port of the domain that owns the device now — that domain's SMMU stream for the device's requester ID on
/// its bridge, or its memory through its p2m — and refuses every access while no domain owns it. Only the
/// device's view (<see cref="AssignedPciFunction"/>) re-points it, under the device's lock, so an access in
/// flight finishes where it began and none after the move reaches the previous owner's memory.
/// </summary>
public sealed class AssignableDmaPort : IDmaPort
{
    private volatile IDmaPort? target;

    /// <summary>Whether a domain owns the device's DMA now.</summary>
    public bool Connected => target is not null;

    internal void Retarget(IDmaPort? port) => target = port;

    public GuestMemoryStatus Read(ulong address, Span<byte> destination) =>
        target is { } t ? t.Read(address, destination) : GuestMemoryStatus.NotMapped;

    public GuestMemoryStatus Write(ulong address, ReadOnlySpan<byte> source) =>
        target is { } t ? t.Write(address, source) : GuestMemoryStatus.NotMapped;
}
