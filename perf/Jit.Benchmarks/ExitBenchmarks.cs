using BenchmarkDotNet.Attributes;
using Jit.Devices.Uart;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Smccc;
using Jit.SecureWorld.Optee;
using static Jit.Benchmarks.A64;

namespace Jit.Benchmarks;

/// <summary>
/// Round trips from the guest into the hypervisor and back, in-process through <see cref="Jit.Hypervisor.Vcpu.Run"/>:
/// SMC #0 asking SMCCC_VERSION (the SMCCC dispatcher's fast path), SMC #0 asking OPTEE_SMC_CALLS_UID (the same
/// path, the domain's policy, the OP-TEE mediator and the modelled OS: issue 14's fast TEE call) and an LDR of
/// the PL011's flag register (a stage-1 walk, the MMIO map and the device). One operation is one call or one
/// access, with the loop instructions around it.
/// </summary>
[BenchmarkCategory("exits")]
public unsafe class ExitBenchmarks
{
    private const int Calls = 10_000;
    private const int SmcLoopLength = 3, TeeLoopLength = 4, MmioLoopLength = 2;

    private static readonly uint[] SmcLoop = [Movz(0, (ushort)(ArchCalls.SmcccVersion >> 16), 1), Smc(0), B(-2)];
    private static readonly uint[] TeeLoop =
        [Movz(0, (ushort)(OpteeSmc.CallsUid & 0xFFFF)), Movk(0, (ushort)(OpteeSmc.CallsUid >> 16), 1), Smc(0), B(-3)];
    private static readonly uint[] MmioLoop = [LdrW(1, 2, Pl011.UartFr), B(-1)];

    private DomainMachine smc = null!, tee = null!, mmio = null!;

    [Params(Tier.Interpreted, Tier.Compiled)]
    public Tier Tier { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        smc = new DomainMachine(Tier);
        smc.Load(SmcLoop);
        SmcRoundTrip();
        if ((long)smc.Vcpu.State->X[0] != ArchCalls.Version)
            throw new InvalidOperationException($"SMCCC_VERSION answered 0x{smc.Vcpu.State->X[0]:x}");

        tee = new DomainMachine(Tier);
        tee.Domain.Smccc.Policy = SmcccPolicy.Create(controlDomain: true, tee: true);
        tee.Domain.AttachTee(TeeKind.Optee);
        tee.Load(TeeLoop);
        OpteeFastRoundTrip();
        if (tee.Vcpu.State->X[0] != OpteeSmc.ApiUid0)
            throw new InvalidOperationException($"OPTEE_SMC_CALLS_UID answered 0x{tee.Vcpu.State->X[0]:x}");

        mmio = new DomainMachine(Tier);
        mmio.Load(MmioLoop);
        mmio.Vcpu.State->X[2] = GuestMemoryMap.Pl011Base;
        ulong before = mmio.Vcpu.Counters.Mmio;
        MmioRoundTrip();
        if (mmio.Vcpu.Counters.Mmio - before < Calls)
            throw new InvalidOperationException($"only {mmio.Vcpu.Counters.Mmio - before} of {Calls} PL011 reads reached the MMIO map");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        smc.Dispose();
        tee.Dispose();
        mmio.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Calls)]
    public void SmcRoundTrip() => smc.Run(Calls * SmcLoopLength);

    [Benchmark(OperationsPerInvoke = Calls)]
    public void OpteeFastRoundTrip() => tee.Run(Calls * TeeLoopLength);

    [Benchmark(OperationsPerInvoke = Calls)]
    public void MmioRoundTrip() => mmio.Run(Calls * MmioLoopLength);
}
