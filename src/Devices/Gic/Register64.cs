namespace Jit.Devices.Gic;

/// <summary>
/// The GIC's 64-bit registers (GICD_IROUTER, GICR_TYPER, GICR_PROPBASER, GITS_BASER, …) accept a 64-bit access
/// or a 32-bit access to either half. <paramref name="at"/> is the access's byte offset inside
/// the register: 0, or 4 for the upper half.
/// </summary>
internal static class Register64
{
    public static bool Read(ulong register, ulong at, int size, out ulong value)
    {
        value = size == 8 ? register : at == 4 ? register >> 32 : (uint)register;
        return size == 8 ? at == 0 : size == 4 && at is 0 or 4;
    }

    public static bool Merge(ulong register, ulong at, int size, ulong value, out ulong merged)
    {
        merged = size == 8 ? value
            : at == 4 ? (register & 0xFFFF_FFFF) | (value << 32)
            : (register & ~0xFFFF_FFFFUL) | (uint)value;
        return size == 8 ? at == 0 : size == 4 && at is 0 or 4;
    }
}
