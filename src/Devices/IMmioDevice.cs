namespace Jit.Devices;

/// <summary>
/// A device's register window as the guest reaches it. The domain's MMIO map translates a physical address
/// into an offset inside the window the device was registered at, so a device never sees addresses, the CPU or
/// the hypervisor, and can be driven alone by tests.
/// </summary>
/// <remarks>
/// Returning false rejects the access (a size or offset the hardware would not accept); the hypervisor turns
/// that into a synchronous external abort for the guest. Registers that exist but are not modelled yet accept
/// the access and report it once.
/// </remarks>
public interface IMmioDevice
{
    /// <summary>A short name for logs and overlap errors, e.g. "pl011".</summary>
    string Name { get; }

    /// <summary>The size of the register window in bytes.</summary>
    ulong WindowSize { get; }

    /// <param name="offset">Byte offset inside the window; the map guarantees offset + size &lt;= WindowSize.</param>
    /// <param name="size">1, 2, 4 or 8.</param>
    bool Read(ulong offset, int size, out ulong value);

    bool Write(ulong offset, int size, ulong value);
}
