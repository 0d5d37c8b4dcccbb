namespace Jit.Devices.Storage;

/// <summary>
/// An image that cannot be opened: missing, unreadable, of a format or feature not supported, or corrupt. The message
/// is one line that names the file and the problem, ready to show the user as it is.
/// </summary>
public sealed class DiskImageException(string message, Exception? inner = null) : Exception(message, inner);
