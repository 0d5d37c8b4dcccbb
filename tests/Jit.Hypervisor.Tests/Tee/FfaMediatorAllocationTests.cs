using Jit.Hypervisor.Config;
using Jit.SecureWorld;
using Jit.SecureWorld.Ffa;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>A direct request and its response in steady state allocate nothing on the calling (vCPU) thread.</summary>
public class FfaMediatorAllocationTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ADirectRequestAllocatesNothing(bool is64)
    {
        var machine = new HostMachine(EntropySources.Seeded(9));
        using var g = new TeeGuest(machine, 1, TeeKind.Ffa);
        g.Ffa.Probe();
        var request = g.Ffa.Direct(ServicePartition.CmdAdd, 1, 2, 3, 4, is64);
        var call = request;
        int failures = 0;
        // Round 0 warms up; an allocation per call shows in every later round, a runtime one-off (a method
        // promoted by tiered compilation meanwhile) in one at most.
        var rounds = new long[4];
        for (int round = 0; round < rounds.Length; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 2000; i++)
            {
                call.X0 = is64 ? FfaAbi.MsgSendDirectReq64 : FfaAbi.MsgSendDirectReq32;
                call.X1 = (2u << 16) | ServicePartition.PartitionId;
                call.X2 = 0;
                call.X3 = ServicePartition.CmdAdd;
                call.X4 = 1; call.X5 = 2; call.X6 = 3; call.X7 = 4;
                g.Domain.Smccc.Dispatch(ref call);
                if (call.X4 != 10) failures++;
            }
            rounds[round] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(rounds.Skip(1).Min() == 0, $"bytes allocated per 2,000 calls, by round: {string.Join(", ", rounds)}");
        Assert.Equal(0, failures);
    }
}
