using Jit.SecureWorld;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>A null yielding call in steady state allocates nothing on the calling (vCPU) thread.</summary>
public class OpteeMediatorAllocationTests
{
    [Theory]
    [InlineData(ArgMode.WithArg)]
    [InlineData(ArgMode.RpcArg)]
    [InlineData(ArgMode.RegdArg)]
    public void ANullInvokeAllocatesNothing(ArgMode mode)
    {
        var machine = new HostMachine(EntropySources.Seeded(9));
        using var g = new TeeGuest(machine, 1);
        g.Driver.Probe(useRpcArg: mode != ArgMode.WithArg);
        uint session = g.Driver.OpenSession(EchoTa.TaUuid).Session;
        var shm = g.Driver.Register(4096);
        var (_, smc, _) = g.Driver.Place(OpteeMsg.CmdInvokeCommand, EchoTa.CmdNull, session,
            [Param.ValueIn(1, 2), Param.InOut(shm, 0, 64)], mode);
        var (_, rpcTrip, inline) = g.Driver.Place(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, session, [Param.InOut(shm, 0, 64)], mode);

        int failures = 0;
        // Round 0 warms up; an allocation per call shows in every later round, a runtime one-off (a method
        // promoted by tiered compilation meanwhile) in one at most.
        var rounds = new long[4];
        for (int round = 0; round < rounds.Length; round++)
        {
            // Warm-up: pools, the shm cache, the JIT. Then measure.
            g.Driver.Run(rpcTrip, inline);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 2000; i++)
            {
                var call = smc;
                g.Domain.Smccc.Dispatch(ref call);
                if ((uint)call.X0 != OpteeSmc.ReturnOk) failures++;
            }
            rounds[round] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(rounds.Skip(1).Min() == 0, $"bytes allocated per 2,000 calls, by round: {string.Join(", ", rounds)}");
        Assert.Equal(0, failures);
        Assert.Equal(0, g.Mediator.CallsInFlight);
    }
}
