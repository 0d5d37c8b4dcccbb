namespace Jit.Runtime.Memory;

/// <summary>
/// Physical addresses that are not RAM. The hypervisor implements this with the domain's MMIO map; the CPU
/// core only learns whether some device claimed the access.
/// </summary>
public interface IMmioBus
{
    /// <summary>False when nothing claims <paramref name="pa"/>: the access becomes an external abort.</summary>
    bool Read(ulong pa, int size, out ulong value);

    bool Write(ulong pa, int size, ulong value);
}

/// <summary>A bus with no devices: every access aborts.</summary>
public sealed class EmptyMmioBus : IMmioBus
{
    public static readonly EmptyMmioBus Instance = new();

    public bool Read(ulong pa, int size, out ulong value)
    {
        value = 0;
        return false;
    }

    public bool Write(ulong pa, int size, ulong value) => false;
}
