using Jit.Runtime;
using Jit.Runtime.Startup;

namespace Jit.Hypervisor.Smccc;

/// <summary>Power state of one vCPU as PSCI AFFINITY_INFO reports it (DEN0022, 5.7).</summary>
public enum VcpuPowerState
{
    On = 0,
    Off = 1,
    OnPending = 2,
}

/// <summary>Why a domain stopped running.</summary>
public enum ShutdownReason
{
    PowerOff,
    Reset,
    /// <summary>Every vCPU was turned off with CPU_OFF: nothing can run any more.</summary>
    AllVcpusOff,
}

/// <summary>What PSCI needs from the domain it serves; the domain implements it, tests fake it.</summary>
public interface IPsciPlatform
{
    /// <summary>The vCPU whose MPIDR affinity fields equal <paramref name="affinity"/>, or −1.</summary>
    int FindVcpu(ulong affinity);

    VcpuPowerState PowerState(int vcpu);

    /// <summary>Starts an Off vCPU at <paramref name="entry"/> with X0 = <paramref name="context"/>; returns a PSCI status.</summary>
    long CpuOn(int vcpu, ulong entry, ulong context);

    void CpuOff(int vcpu);

    void Shutdown(ShutdownReason reason);
}

/// <summary>
/// Power State Coordination Interface 1.1 over HVC (DEN0022D): version and feature discovery, system off and
/// reset, and the CPU_ON/CPU_OFF/AFFINITY_INFO life cycle of the domain's vCPUs.
/// </summary>
[CompiledEarly]
public sealed class Psci : ISmcccService
{
    public const uint PsciVersion = 0x8400_0000;
    public const uint CpuSuspend32 = 0x8400_0001, CpuSuspend64 = 0xC400_0001;
    public const uint CpuOff = 0x8400_0002;
    public const uint CpuOn32 = 0x8400_0003, CpuOn64 = 0xC400_0003;
    public const uint AffinityInfo32 = 0x8400_0004, AffinityInfo64 = 0xC400_0004;
    public const uint MigrateInfoType = 0x8400_0006;
    public const uint SystemOff = 0x8400_0008;
    public const uint SystemReset = 0x8400_0009;
    public const uint PsciFeatures = 0x8400_000A;

    /// <summary>PSCI 1.1: major in bits [31:16], minor in [15:0].</summary>
    public const long Version = (1 << 16) | 1;

    // PSCI return codes (DEN0022D, table 6).
    public const long Success = 0;
    public const long NotSupported = -1;
    public const long InvalidParameters = -2;
    public const long Denied = -3;
    public const long AlreadyOn = -4;
    public const long OnPending = -5;
    public const long InternalFailure = -6;

    /// <summary>MIGRATE_INFO_TYPE 2: no Trusted OS that would need migrating.</summary>
    public const long NoTrustedOs = 2;

    // MPIDR affinity fields: Aff3 [39:32], Aff2–Aff0 [23:0].
    public const ulong AffinityMask = 0xFF_00FF_FFFF;

    private readonly IPsciPlatform platform;

    public Psci(IPsciPlatform platform) => this.platform = platform;

    public string Name => "PSCI";

    public SmcccOutcome Call(ref SmcccCall call)
    {
        switch (call.FunctionId)
        {
            case PsciVersion:
                call.Return(Version);
                return SmcccOutcome.Done;
            case PsciFeatures:
                call.Return(Implements((uint)call.X1) ? Success : NotSupported);
                return SmcccOutcome.Done;
            case MigrateInfoType:
                call.Return(NoTrustedOs);
                return SmcccOutcome.Done;
            case CpuOn32 or CpuOn64:
                return DoCpuOn(ref call);
            case CpuSuspend32 or CpuSuspend64:
                // Every power state is entered as standby, and standby ends at the next wake-up event; returning
                // at once is such an early wake-up (DEN0022D 5.4.2), so the caller resumes after the call.
                call.Return(Success);
                return SmcccOutcome.Done;
            case CpuOff:
                // On success CPU_OFF does not return to the caller; the vCPU stops here.
                platform.CpuOff(call.Vcpu);
                call.Return(Success);
                return SmcccOutcome.StopVcpu;
            case AffinityInfo32 or AffinityInfo64:
                return DoAffinityInfo(ref call);
            case SystemOff:
                platform.Shutdown(ShutdownReason.PowerOff);
                call.Return(Success);
                return SmcccOutcome.StopVcpu;
            case SystemReset:
                platform.Shutdown(ShutdownReason.Reset);
                call.Return(Success);
                return SmcccOutcome.StopVcpu;
            default:
                return SmcccOutcome.Unknown;
        }
    }

    // PSCI_FEATURES also answers for SMCCC_VERSION: that is how callers discover SMCCC 1.1 (DEN0022D 5.1.15).
    private static bool Implements(uint fid) => fid is ArchCalls.SmcccVersion or PsciVersion or PsciFeatures or MigrateInfoType or CpuOn32
        or CpuOn64 or CpuOff or AffinityInfo32 or AffinityInfo64 or SystemOff or SystemReset or CpuSuspend32 or CpuSuspend64;

    private SmcccOutcome DoCpuOn(ref SmcccCall call)
    {
        int target = platform.FindVcpu(call.Arg(1) & AffinityMask);
        if (target < 0)
        {
            call.Return(InvalidParameters);
            return SmcccOutcome.Done;
        }
        long status = platform.PowerState(target) switch
        {
            VcpuPowerState.On => AlreadyOn,
            VcpuPowerState.OnPending => OnPending,
            _ => platform.CpuOn(target, call.Arg(2), call.Arg(3)),
        };
        call.Return(status);
        return SmcccOutcome.Done;
    }

    private SmcccOutcome DoAffinityInfo(ref SmcccCall call)
    {
        ulong level = call.Arg(2);
        // Only level 0 (one vCPU) is answered; PSCI 1.0 lets callers ignore the higher levels.
        if (level != 0)
        {
            Log.Once($"psci-affinity-level-{level}", $"PSCI: AFFINITY_INFO at level {level} is not supported");
            call.Return(InvalidParameters);
            return SmcccOutcome.Done;
        }
        int target = platform.FindVcpu(call.Arg(1) & AffinityMask);
        call.Return(target < 0 ? InvalidParameters : (long)platform.PowerState(target));
        return SmcccOutcome.Done;
    }
}
