namespace Jit.Devices.Network;

/// <summary>
/// What crossed one network link, from the guest's side: transmitted is what the guest sent into the network,
/// received is what the network delivered to the guest.
/// </summary>
public readonly record struct NetworkCounters(
    long TransmittedFrames, long TransmittedBytes, long TransmitDropped,
    long ReceivedFrames, long ReceivedBytes, long ReceiveDropped);
