namespace Jit.Runtime;

/// <summary>
/// The fast path from the CPU core into the hypervisor (EL2) for HVC and SMC executed at EL1. The call runs
/// on the vCPU thread with the guest's registers in <paramref name="s"/>; PC already points past the
/// instruction (the preferred return address of both).
/// </summary>
public unsafe interface IHypervisorCalls
{
    /// <summary>True when the call completed and the guest continues; false makes the engine return <see cref="ExitReason.Hvc"/>.</summary>
    bool Hvc(CpuState* s, ushort imm);

    /// <summary>True when the call completed and the guest continues; false makes the engine return <see cref="ExitReason.Smc"/>.</summary>
    bool Smc(CpuState* s, ushort imm);
}

/// <summary>Why <c>Engine.Run</c> returned to the hypervisor's run loop.</summary>
public enum ExitReason
{
    /// <summary>A halt was requested (<see cref="ExitRequests.Halt"/>), e.g. PSCI SYSTEM_OFF.</summary>
    Halt,
    /// <summary>Another thread asked the vCPU to stop (<see cref="ExitRequests.Stop"/>).</summary>
    Stopped,
    Hvc,
    Smc,
    /// <summary>WFI or WFE at EL1/EL0: the vCPU may sleep until an event. PC points past the instruction.</summary>
    Wfi,
    /// <summary>The instruction budget given to Run was used up.</summary>
    InstructionLimit,
    /// <summary><see cref="ExitRequests.Yield"/> was requested; the caller clears it.</summary>
    Yield,
}
