using Jit.Hypervisor.Config;
using Jit.Hypervisor.Smccc;
using Jit.SecureWorld;
using Jit.SecureWorld.Ffa;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>Random FF-A function IDs, registers and descriptors: every call ends in an answer, none in an exception.</summary>
public class FfaMediatorFuzzTests
{
    [Fact]
    public void AHundredThousandRandomCallsNeverThrowAndTheDomainStillWorks()
    {
        var machine = new HostMachine(EntropySources.Seeded(5));
        using var g = new TeeGuest(machine, 1, TeeKind.Ffa);
        using var bystander = new TeeGuest(machine, 2, TeeKind.Ffa);
        bystander.Ffa.Probe();
        ulong theirs = GuestFfaDriver.Handle(bystander.Ffa.Share([(bystander.Pages.Contiguous(4096), 1)]));
        g.Ffa.Probe();
        var random = new Random(4321);
        ulong scratch = g.Pages.Contiguous(16 * 4096);
        var descriptor = new byte[4096];
        ulong[] interesting = [0, 1, 2, 3, 48, 80, 96, 4096, g.Ffa.Tx, g.Ffa.Rx, scratch, scratch + 4096, theirs, 0x0900_0000, 0x8001, 0x8001_8001,
            (2u << 16) | 0x8001, (3u << 16) | 0x8001, FfaAbi.FrameworkMessage | FfaAbi.VmDestroyedMessage];
        ulong Word() => random.Next(3) switch
        {
            0 => interesting[random.Next(interesting.Length)],
            1 => (ulong)random.NextInt64(),
            _ => (uint)random.Next(128),
        };

        for (int i = 0; i < 100_000; i++)
        {
            if (i % 500 == 0)
            {
                (ulong, uint)[] ranges = [(scratch + (ulong)random.Next(16) * 4096, (uint)random.Next(1, 4)), ((ulong)random.NextInt64() & ~0xFFFUL, 1)];
                int length = FfaMemoryTransaction.Build(descriptor, 2, [(ServicePartition.PartitionId, 3)], ranges.AsSpan(0, random.Next(1, 3)));
                for (int k = random.Next(4); k > 0; k--) descriptor[random.Next(length)] = (byte)random.Next(256);
                g.Write(g.Ffa.Tx, descriptor);
            }
            uint fid = random.Next(4) switch
            {
                0 => (uint)random.NextInt64(0, 1L << 32),
                _ => (uint)(0x8400_0060 + random.Next(0xA0)) | (random.Next(2) == 0 ? 0x4000_0000u : 0),
            };
            var call = new SmcccCall
            {
                X0 = fid, X1 = Word(), X2 = Word(), X3 = Word(), X4 = Word(), X5 = Word(), X6 = Word(), X7 = Word(),
                DomId = 1, Conduit = random.Next(2) == 0 ? SmcccConduit.Smc : SmcccConduit.Hvc,
            };
            g.Domain.Smccc.Dispatch(ref call);
        }

        // The bystander's share is whole and its own; the domain itself still works.
        Assert.Equal(1, machine.SecureWorld.Spmc!.ShareCount(3));
        bystander.Ffa.WithHandle(ServicePartition.CmdRetrieve, theirs);
        Assert.Equal(0UL, bystander.Ffa.WithHandle(ServicePartition.CmdRead32, theirs).X3);
        Assert.Equal(0UL, g.Ffa.Direct(ServicePartition.CmdEcho).X3);
        Assert.InRange(g.FfaMediator.ShareCount, 0, 32);
        Assert.Equal(g.FfaMediator.ShareCount, machine.SecureWorld.Spmc.ShareCount(2));
        Assert.All(machine.Memory.Regions, r => Assert.True(r.DomId is -1 or 1 or 2));
    }
}
