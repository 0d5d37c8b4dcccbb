namespace Jit.Devices.Network;

/// <summary>
/// Takes a frame towards the guest (an Ethernet frame without FCS) and copies it before returning; false when it was
/// dropped. <see cref="Virtio.VirtioNet.Receive"/> is one.
/// </summary>
public delegate bool FrameReceiver(ReadOnlySpan<byte> frame);
