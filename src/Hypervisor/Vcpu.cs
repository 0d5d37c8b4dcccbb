using Jit.Hypervisor.Smccc;
using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Translator;

namespace Jit.Hypervisor;

/// <summary>Why <see cref="Vcpu.Run"/> returned.</summary>
public enum VcpuExit
{
    /// <summary>The domain shut down; <see cref="Domain.ShutdownRequest"/> says why.</summary>
    Shutdown,
    /// <summary>This vCPU turned itself off with PSCI CPU_OFF while others still run.</summary>
    PoweredOff,
    /// <summary>Someone called <see cref="Domain.Stop"/> (Ctrl-C, a timeout, the toolstack).</summary>
    Stopped,
    /// <summary>The instruction budget given to <see cref="Vcpu.Run"/> is used up.</summary>
    InstructionLimit,
}

/// <summary>
/// One virtual CPU: its architectural state, its view of memory and the engine that executes it, plus the run
/// loop that takes the engine's exits, handles them and re-enters, as a KVM_RUN loop does.
/// </summary>
/// <remarks>
/// HVC and SMC do not leave the engine: it calls <see cref="IHypervisorCalls"/> on this object, which hands
/// the call to the domain's SMCCC dispatcher and writes the results straight back into the registers.
/// </remarks>
public sealed unsafe class Vcpu : IHypervisorCalls, IDisposable
{
    /// <summary>SCTLR_EL1 at reset: its RES1 bits (D17.2.118), MMU and caches off.</summary>
    public const ulong SctlrEl1Reset = 0x30D0_0800;

    private readonly Domain domain;
    private CpuState* state;
    // Set by RequestExit so a vCPU parked on WFI notices the request without polling.
    private readonly ManualResetEventSlim wake = new(false);

    internal Vcpu(Domain domain, int id)
    {
        this.domain = domain;
        Id = id;
        state = CpuState.Allocate();
        Mmu = new Mmu(state, domain.Memory, domain.Mmio);
        Engine = new Engine(state, Mmu, this);
        Power = id == 0 ? VcpuPowerState.On : VcpuPowerState.Off;
        Reset(0);
    }

    public int Id { get; }
    public CpuState* State => state;
    public Mmu Mmu { get; }
    public Engine Engine { get; }
    public VcpuPowerState Power { get; private set; }

    /// <summary>MPIDR_EL1: bit 31 is RES1, Aff0 numbers the vCPUs of the domain.</summary>
    public ulong Mpidr => (1UL << 31) | (uint)Id;

    /// <summary>The guest PC, for error messages; null-safe after disposal.</summary>
    public ulong PcForDiagnostics => state == null ? 0 : state->PC;

    /// <summary>Guest instructions this vCPU has retired.</summary>
    public ulong Retired => state->Retired;

    /// <summary>
    /// The state a bare-metal program or a kernel is entered with: EL1h, DAIF masked, MMU off, every
    /// general-purpose register zero.
    /// </summary>
    public void Reset(ulong pc)
    {
        ulong retired = state->Retired;
        *state = default;
        state->Retired = retired;
        state->PC = pc;
        state->EL = 1;
        state->SPSel = 1;
        state->Daif = 0x3C0;
        state->SctlrEl1 = SctlrEl1Reset;
        state->Mpidr = Mpidr;
    }

    /// <summary>Makes the engine leave at its next check; callable from any thread, including signal handlers.</summary>
    public void RequestExit(int requests)
    {
        Interlocked.Or(ref state->ExitRequest, requests);
        wake.Set();
    }

    internal void PowerOff()
    {
        Power = VcpuPowerState.Off;
        RequestExit(ExitRequests.Halt);
    }

    /// <summary>Runs this vCPU on the calling thread until an exit the hypervisor cannot resolve by itself.</summary>
    public VcpuExit Run(ulong maxInstructions = ulong.MaxValue)
    {
        ulong start = state->Retired;
        while (true)
        {
            if (domain.ShutdownRequest is not null) return VcpuExit.Shutdown;
            if (Power == VcpuPowerState.Off) return VcpuExit.PoweredOff;
            if ((Volatile.Read(ref state->ExitRequest) & ExitRequests.Stop) != 0) return VcpuExit.Stopped;
            ulong done = state->Retired - start;
            if (done >= maxInstructions) return VcpuExit.InstructionLimit;

            switch (Engine.Run(maxInstructions - done))
            {
                case ExitReason.Halt:
                    // A halt that no shutdown or CPU_OFF explains is stale (the request that caused it was
                    // withdrawn); drop it rather than exit in a loop.
                    if (domain.ShutdownRequest is null && Power != VcpuPowerState.Off)
                        Interlocked.And(ref state->ExitRequest, ~ExitRequests.Halt);
                    break;
                case ExitReason.Wfi:
                    Park();
                    break;
                case ExitReason.Hvc:
                case ExitReason.Smc:
                    // The fast path answered the call already and asked to stop; the checks above say why.
                case ExitReason.Stopped:
                case ExitReason.InstructionLimit:
                    break;
            }
        }
    }

    /// <summary>
    /// WFI with no interrupt controller or timer yet: nothing can ever wake the vCPU except a request to stop,
    /// so it sleeps on that instead of spinning.
    /// </summary>
    private void Park()
    {
        Log.Once("wfi-park", $"vCPU {Id}: WFI with no interrupt source modelled yet; the vCPU sleeps until stopped");
        while ((Volatile.Read(ref state->ExitRequest) & (ExitRequests.Stop | ExitRequests.Halt)) == 0)
        {
            wake.Wait();
            wake.Reset();
        }
    }

    bool IHypervisorCalls.Hvc(CpuState* s, ushort imm)
    {
        // SMCCC uses HVC #0; other immediates are hypervisor-specific ABIs this hypervisor does not offer.
        if (imm != 0)
        {
            Log.Once($"hvc-imm-{imm:x}", $"vCPU {Id}: HVC #0x{imm:x} is not a known hypervisor call; answered NOT_SUPPORTED");
            s->X[0] = unchecked((ulong)SmcccResult.NotSupported);
            return true;
        }
        return Call(s, SmcccConduit.Hvc);
    }

    // SMCCC ignores the immediate of SMC.
    bool IHypervisorCalls.Smc(CpuState* s, ushort imm) => Call(s, SmcccConduit.Smc);

    private bool Call(CpuState* s, SmcccConduit conduit)
    {
        var call = new SmcccCall
        {
            X0 = s->X[0], X1 = s->X[1], X2 = s->X[2], X3 = s->X[3],
            X4 = s->X[4], X5 = s->X[5], X6 = s->X[6], X7 = s->X[7],
            Vcpu = Id,
            Conduit = conduit,
        };
        var outcome = domain.Smccc.Dispatch(ref call);
        s->X[0] = call.X0;
        s->X[1] = call.X1;
        s->X[2] = call.X2;
        s->X[3] = call.X3;
        return outcome != SmcccOutcome.StopVcpu;
    }

    public void Dispose()
    {
        if (state == null) return;
        CpuState.Free(state);
        state = null;
        wake.Dispose();
    }
}
