using System.Runtime.InteropServices;
using Jit.Translator.Decoder;

namespace Jit.Translator.Interpreter;

/// <summary>
/// A pre-decoded instruction: the form and its operands resolved once, so executing it does no field
/// extraction. Register numbers index <c>CpuState.X</c>, where 31 is SP, 32 reads as zero and 33 discards;
/// the pre-decoder has already chosen between SP and XZR for each operand.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct Inst
{
    public Op Op;
    /// <summary>Destination, or Rt of loads/stores.</summary>
    public byte Rd;
    public byte Rn;
    /// <summary>Rm, or Rs of exclusives and atomics (read side).</summary>
    public byte Rm;
    /// <summary>Ra, Rt2 of pairs, or the write side of Rs.</summary>
    public byte Ra;
    /// <summary>1 when the operation is 64-bit.</summary>
    public byte Sf;
    /// <summary>Op-specific: shift type, extend option, log2 of the access size, bit number, …</summary>
    public byte A;
    /// <summary>Op-specific: shift amount, load kind, NZCV immediate, …</summary>
    public byte B;
    /// <summary>Op-specific: condition code, acquire/release bits, …</summary>
    public byte C;
    public ulong Imm;
    public ulong Imm2;
    public uint Word;
}

/// <summary>Values of <see cref="Inst.B"/> for single-register loads and stores (the opc field's meaning).</summary>
public static class LoadKind
{
    public const byte Store = 0;
    public const byte Zero = 1;
    public const byte Signed64 = 2;
    public const byte Signed32 = 3;
}
