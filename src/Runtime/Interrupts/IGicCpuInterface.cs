namespace Jit.Runtime.Interrupts;

/// <summary>
/// The GICv3 CPU interface of one vCPU as its system registers (ICC_*_EL1) see it. The interrupt controller
/// model implements it; the CPU core only routes MRS/MSR of the ICC encodings here (keys as in
/// <see cref="SystemRegisters.SystemRegisterFile.Key"/>).
/// </summary>
public interface IGicCpuInterface
{
    /// <summary>False when the register does not exist: the access is UNDEFINED.</summary>
    bool Read(int key, out ulong value);

    bool Write(int key, ulong value);
}
