namespace Jit.SecureWorld;

/// <summary>What became of one access to normal-world memory.</summary>
public enum MemoryStatus
{
    Ok,
    /// <summary>No memory there: outside RAM, or a hole.</summary>
    Unmapped,
    /// <summary>Memory the secure world must not take from the normal world (MMIO, hypervisor-private pages).</summary>
    Forbidden,
}

/// <summary>
/// The secure world's view of normal-world memory: machine (physical) addresses only, never a domain's IPAs,
/// since the hypervisor's mediator translates and checks those before a call reaches the model. Every access
/// returns a status and never throws; the model turns a failed one into the ABI's error code.
/// </summary>
public interface IMachineMemory
{
    /// <summary>Copies <paramref name="destination"/>.Length bytes from machine address <paramref name="address"/>.</summary>
    MemoryStatus Read(ulong address, Span<byte> destination);

    /// <summary>Copies <paramref name="source"/> to machine address <paramref name="address"/>.</summary>
    MemoryStatus Write(ulong address, ReadOnlySpan<byte> source);

    /// <summary>
    /// Whether [<paramref name="address"/>, <paramref name="address"/> + <paramref name="length"/>) could be read and
    /// written, without touching it: how a registration checks its pages once instead of at every access.
    /// </summary>
    MemoryStatus Check(ulong address, ulong length);
}
