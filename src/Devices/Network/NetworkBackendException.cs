namespace Jit.Devices.Network;

/// <summary>
/// A network backend that cannot be set up: the message is one line that names the interface and the host's reason,
/// ready to show the user as it is.
/// </summary>
public sealed class NetworkBackendException(string message) : Exception(message);
