using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.SecureWorld.Tests;

public class RngTaTests
{
    [Fact]
    public void Optee_rng_gets_its_rate_and_quality_then_entropy_from_the_injected_source()
    {
        var machine = new TestMachine(entropy: EntropySources.Seeded(7));
        var guest = machine.Guest(0);
        var open = guest.OpenSession(RngTa.TaUuid, OpteeMsg.LoginReeKernel);
        Assert.Equal(TeeResult.Success, open.Ret);

        var info = guest.Invoke(open.Session, RngTa.CmdGetRngInfo, Param.ValueOut, Param.None, Param.None, Param.None);
        Assert.Equal(TeeResult.Success, info.Ret);
        Assert.Equal((RngTa.DataRate, RngTa.Quality), ((uint)info.Params[0].A, (uint)info.Params[0].B));

        // optee-rng: one kernel buffer of MAX_ENTROPY_REQ_SZ, an in/out memref of the size it wants.
        var pool = guest.Register(4096);
        var r = guest.Invoke(open.Session, RngTa.CmdGetEntropy, Param.InOut(pool, 0, 1000), Param.None, Param.None, Param.None);
        Assert.Equal(TeeResult.Success, r.Ret);
        Assert.Equal(1000ul, r.Params[0].B);
        var expected = new byte[1000];
        EntropySources.Seeded(7)(expected);
        Assert.Equal(expected, pool.Read(0, 1000));
    }

    [Fact]
    public void Wrong_parameter_types_are_bad_parameters()
    {
        var machine = new TestMachine();
        var guest = machine.Guest(0);
        var open = guest.OpenSession(RngTa.TaUuid, OpteeMsg.LoginReeKernel);
        var pool = guest.Register(64);
        Assert.Equal(TeeResult.ErrorBadParameters, guest.Invoke(open.Session, RngTa.CmdGetEntropy, Param.Out(pool, 0, 64)).Ret);
        Assert.Equal(TeeResult.ErrorBadParameters, guest.Invoke(open.Session, RngTa.CmdGetRngInfo, Param.ValueIn(1)).Ret);
    }
}
