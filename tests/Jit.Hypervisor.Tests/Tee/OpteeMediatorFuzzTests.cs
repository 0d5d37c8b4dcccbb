using System.Buffers.Binary;
using Jit.Hypervisor.Smccc;
using Jit.SecureWorld;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>Random function IDs, registers and argument structs: every call ends in a status, none in an exception.</summary>
public class OpteeMediatorFuzzTests
{
    private static readonly uint[] Functions =
    [
        OpteeSmc.CallsCount, OpteeSmc.CallsUid, OpteeSmc.CallsRevision, OpteeSmc.GetOsUuid, OpteeSmc.GetOsRevision,
        OpteeSmc.GetShmConfig, OpteeSmc.L2ccMutex, OpteeSmc.ExchangeCapabilities, OpteeSmc.DisableShmCache,
        OpteeSmc.EnableShmCache, OpteeSmc.BootSecondary, OpteeSmc.VmCreated, OpteeSmc.VmDestroyed, OpteeSmc.GetThreadCount,
        OpteeSmc.EnableAsyncNotif, OpteeSmc.GetAsyncNotifValue, OpteeSmc.CallWithArg, OpteeSmc.ReturnFromRpc,
        OpteeSmc.CallWithRpcArg, OpteeSmc.CallWithRegdArg,
    ];

    [Fact]
    public void AHundredThousandRandomCallsNeverThrowAndTheDomainStillWorks()
    {
        var machine = new HostMachine(EntropySources.Seeded(5));
        using var g = new TeeGuest(machine, 1);
        using var bystander = new TeeGuest(machine, 2);
        bystander.Driver.Probe();
        uint bystanderSession = bystander.Driver.OpenSession(EchoTa.TaUuid).Session;
        g.Driver.Probe();
        uint session = g.Driver.OpenSession(EchoTa.TaUuid).Session;
        var shm = g.Driver.Register(8192);
        var random = new Random(1234);
        // A few pages of plausible-looking argument structs and page lists for the random calls to point at.
        ulong scratch = g.Pages.Contiguous(16 * 4096);
        var bytes = new byte[16 * 4096];
        ulong[] interesting = [0, 1, 4, 5, 6, 7, 9, 10, 11, 0x200 | 9, 0x200 | 11, session, (uint)shm.Cookie, shm.Cookie >> 32, scratch, scratch + 32];

        ulong Word() => random.Next(4) switch
        {
            0 => interesting[random.Next(interesting.Length)],
            1 => scratch + (ulong)random.Next(16 * 4096),
            2 => (ulong)random.NextInt64(),
            _ => (uint)random.Next(64),
        };

        for (int i = 0; i < 100_000; i++)
        {
            if (i % 1000 == 0)
            {
                random.NextBytes(bytes);
                for (int w = 0; w < bytes.Length; w += 8)
                    if (random.Next(3) == 0) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(w), Word());
                // Keep the parameter counts small so that the structs are read rather than refused at once.
                for (int at = 28; at < bytes.Length; at += 512) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)random.Next(8));
                for (int at = 0; at < bytes.Length; at += 512) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)random.Next(7));
                g.Write(scratch, bytes);
            }
            uint fid = random.Next(3) switch
            {
                0 => (uint)random.NextInt64(0, 1L << 32),
                1 => (uint)random.Next(0x3000_0000, 0x4000_0000) | (random.Next(2) == 0 ? 0x8000_0000 : 0),
                _ => Functions[random.Next(Functions.Length)],
            };
            var call = new SmcccCall
            {
                X0 = fid, X1 = Word(), X2 = Word(), X3 = Word(), X4 = Word(), X5 = Word(), X6 = Word(), X7 = Word(),
                DomId = 1, Conduit = random.Next(2) == 0 ? SmcccConduit.Smc : SmcccConduit.Hvc,
            };
            if (fid is OpteeSmc.CallWithArg or OpteeSmc.CallWithRpcArg)
            {
                ulong at = scratch + (ulong)(512 * random.Next(128));
                call.X1 = at >> 32;
                call.X2 = (uint)at;
            }
            g.Domain.Smccc.Dispatch(ref call);
            // Answer RPCs now and then, wrongly or not, so that calls do not all stay suspended.
            while (OpteeSmc.IsRpc((uint)call.X0) && random.Next(4) != 0)
            {
                var resume = new SmcccCall
                {
                    X0 = OpteeSmc.ReturnFromRpc, X1 = random.Next(2) == 0 ? call.X1 : Word(), X2 = call.X2, X3 = call.X3,
                    X4 = Word(), X5 = Word(), DomId = 1, Conduit = SmcccConduit.Smc,
                };
                g.Domain.Smccc.Dispatch(ref resume);
                call = resume;
            }
        }

        // Whatever was left suspended, the domain's sessions work, and the bystander never noticed.
        Assert.Equal(TeeResult.Success, bystander.Driver.Invoke(bystanderSession, EchoTa.CmdNull).Ret);
        Assert.True(machine.SecureWorld.TrustedOs.HasClient(g.ClientId));
        Assert.InRange(g.Mediator.CallsInFlight, 0, 16);
        Assert.All(machine.Memory.Regions, r => Assert.True(r.DomId is -1 or 1 or 2));
    }
}
