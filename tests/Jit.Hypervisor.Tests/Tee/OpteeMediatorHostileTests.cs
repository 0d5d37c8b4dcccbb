using Jit.SecureWorld;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>Guests that hand the mediator what no driver should: each gets an error code, nothing throws, nothing leaks.</summary>
public sealed class OpteeMediatorHostileTests : IDisposable
{
    private const ulong MmioPage = OddPages.Mmio, ReadOnlyPage = OddPages.ReadOnly, ForeignPage = OddPages.Foreign;

    private readonly HostMachine machine = new(EntropySources.Seeded(3));
    private readonly TeeGuest g, other;
    private readonly OddPages odd;

    public OpteeMediatorHostileTests()
    {
        g = new TeeGuest(machine, 1);
        other = new TeeGuest(machine, 2);
        g.Driver.Probe();
        other.Driver.Probe();
        odd = new OddPages(g, other);
    }

    public void Dispose()
    {
        g.Dispose();
        other.Dispose();
        odd.Dispose();
    }

    private OpteeOs Os => machine.SecureWorld.TrustedOs;

    [Theory]
    [InlineData(0x1000UL)]                                  // below RAM, unmapped
    [InlineData(TeeGuest.RamBase + TeeGuest.RamSize - 16)]  // straddles the end of RAM
    [InlineData(TeeGuest.RamBase + 0x10_0004)]              // misaligned
    [InlineData(MmioPage)]
    [InlineData(ForeignPage)]
    [InlineData(ReadOnlyPage)]
    [InlineData(0xFFFF_FFFF_FFFF_FFF8UL)]
    public void AnArgumentStructOutsideTheDomainsRamIsEBadAddr(ulong at)
    {
        var r = g.Smc(OpteeSmc.CallWithArg, at >> 32, (uint)at);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)r.X0);
        var rpc = g.Smc(OpteeSmc.CallWithRpcArg, at >> 32, (uint)at);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)rpc.X0);
        Assert.Equal(0, g.Mediator.CallsInFlight);
        Assert.Equal(0, Os.BusyThreadCount(g.ClientId));
    }

    [Fact]
    public void TheRpcArgumentAfterTheStructMustBeRamToo()
    {
        // The struct fits in RAM, the RPC argument after it does not.
        ulong at = TeeGuest.RamBase + TeeGuest.RamSize - (ulong)OpteeMsg.ArgSize(0);
        g.Driver.WriteArg(at, OpteeMsg.CmdCancel, 0, 0, 0, []);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)g.Smc(OpteeSmc.CallWithRpcArg, at >> 32, (uint)at).X0);
    }

    public static TheoryData<string> BadPages => ["mmio", "unmapped", "foreign", "readonly", "misaligned", "list-outside", "list-mmio", "next-outside"];

    [Theory]
    [MemberData(nameof(BadPages))]
    public void APageListWithAPageThatIsNotTheDomainsOwnRamIsRefused(string bad)
    {
        var pages = g.Pages.Scattered(3);
        ulong list = g.Driver.WritePageList(pages);
        switch (bad)
        {
            case "mmio": g.Write64(list + 8, MmioPage); break;
            case "unmapped": g.Write64(list + 8, 0x2000_0000); break;
            case "foreign": g.Write64(list + 8, ForeignPage); break;
            case "readonly": g.Write64(list + 8, ReadOnlyPage); break;
            case "misaligned": g.Write64(list + 8, pages[1] + 8); break;
            case "list-outside": list = 0x2000_0000; break;
            case "list-mmio": list = MmioPage; break;
            case "next-outside":
                // 600 pages: the list goes on in a second page, whose address points nowhere.
                list = g.Driver.WritePageList(g.Pages.Scattered(600));
                g.Write64(list + 511 * 8, 0x2000_0000);
                break;
        }
        ulong size = bad == "next-outside" ? 600 * 4096UL : 3 * 4096UL;
        ulong cookie = g.Driver.NewCookie();
        var r = g.Driver.Call(OpteeMsg.CmdRegisterShm, 0, 0,
            [new Param(OpteeMsg.AttrTypeTmemInout | OpteeMsg.AttrNoncontig, list, size, cookie)], ArgMode.WithArg);
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.ErrorBadParameters, TeeResult.OriginComms), (r.Smc, r.Ret, r.Origin));
        Assert.Equal(0, Os.SharedMemoryCount(g.ClientId));
        Assert.Equal(0, g.Mediator.SharedBufferCount);
    }

    [Fact]
    public void ABufferOverThePerBufferLimitIsOutOfMemory()
    {
        var r = g.Driver.Call(OpteeMsg.CmdRegisterShm, 0, 0,
            [new Param(OpteeMsg.AttrTypeTmemInout | OpteeMsg.AttrNoncontig, g.Driver.WritePageList(g.Pages.Scattered(1)), 64UL << 20, g.Driver.NewCookie())],
            ArgMode.WithArg);
        Assert.Equal(TeeResult.ErrorOutOfMemory, r.Ret);
        var huge = g.Driver.Call(OpteeMsg.CmdRegisterShm, 0, 0,
            [new Param(OpteeMsg.AttrTypeTmemInout | OpteeMsg.AttrNoncontig, 0, ulong.MaxValue, g.Driver.NewCookie())], ArgMode.WithArg);
        Assert.Equal(TeeResult.ErrorBadParameters, huge.Ret);
    }

    [Fact]
    public void RegisteringTheSameCookieTwiceIsRefused()
    {
        var shm = g.Driver.Register(4096);
        var list = g.Driver.WritePageList(g.Pages.Scattered(1));
        var r = g.Driver.Call(OpteeMsg.CmdRegisterShm, 0, 0,
            [new Param(OpteeMsg.AttrTypeTmemInout | OpteeMsg.AttrNoncontig, list, 4096, shm.Cookie)], ArgMode.WithArg);
        Assert.Equal(TeeResult.ErrorBadParameters, r.Ret);
    }

    [Fact]
    public void CommandsTheMediatorDoesNotKnowAreEBadCmd()
    {
        foreach (uint cmd in new uint[] { OpteeMsg.CmdDoBottomHalf, OpteeMsg.CmdStopAsyncNotif, 99, uint.MaxValue })
        {
            var (at, smc, _) = g.Driver.Place(cmd, 0, 0, [], ArgMode.WithArg);
            g.Domain.Smccc.Dispatch(ref smc);
            Assert.Equal(OpteeSmc.ReturnEBadCmd, (uint)smc.X0);
        }
        Assert.Equal(0, g.Mediator.CallsInFlight);
    }

    [Fact]
    public void AContiguousTemporaryBufferIsRefusedButTheNullReferenceIsNot()
    {
        uint session = g.Driver.OpenSession(EchoTa.TaUuid).Session;
        ulong buffer = g.Pages.Contiguous(4096);
        var r = g.Driver.Invoke(session, EchoTa.CmdReverse, new Param(OpteeMsg.AttrTypeTmemInout, buffer, 16));
        Assert.Equal((TeeResult.ErrorBadParameters, TeeResult.OriginComms), (r.Ret, r.Origin));
        var nulled = g.Driver.Invoke(session, EchoTa.CmdNull, new Param(OpteeMsg.AttrTypeTmemInput, 0, 0));
        Assert.Equal(TeeResult.Success, nulled.Ret);
    }

    [Fact]
    public void TooManyParametersAreBadParametersInTheStruct()
    {
        var r = g.Driver.Call(OpteeMsg.CmdInvokeCommand, 0, 1, [.. Enumerable.Repeat(Param.None, 9)], ArgMode.WithArg);
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.ErrorBadParameters), (r.Smc, r.Ret));
    }

    [Fact]
    public void ReturnFromRpcWithoutAPendingRpcIsEResume()
    {
        for (uint thread = 0; thread < 20; thread++)
            Assert.Equal(OpteeSmc.ReturnEResume, (uint)g.Smc(OpteeSmc.ReturnFromRpc, 0, 0, thread).X0);
        // A call waits at thread t: any other thread index is still not resumable, and t still is.
        uint session = g.Driver.OpenSession(EchoTa.TaUuid).Session;
        var shm = g.Driver.Register(64);
        var pending = g.Driver.Start(OpteeMsg.CmdInvokeCommand, EchoTa.CmdRpcRoundTrip, session, [Param.InOut(shm, 0, 64)], stopAfterRpcs: 0);
        uint waiting = (uint)pending.Rpc.X3;
        Assert.Equal(OpteeSmc.ReturnEResume, (uint)g.Smc(OpteeSmc.ReturnFromRpc, 0, 0, waiting + 1).X0);
        Assert.Equal(TeeResult.Success, g.Driver.Finish(pending).Ret);
    }

    [Fact]
    public void AnShmAllocAnswerOutsideRamFailsTheCallAndTheBufferIsFreed()
    {
        uint session = g.Driver.OpenSession(EchoTa.TaUuid).Session;
        var shm = g.Driver.Register(64);
        foreach (var (noncontig, address) in new[] { (true, 0x2000_0000UL), (true, MmioPage), (false, MmioPage), (false, ForeignPage) })
        {
            g.Driver.NoncontigShmAlloc = noncontig;
            g.Driver.BadShmAllocAddress = address;
            var r = g.Driver.Invoke(session, EchoTa.CmdRpcRoundTrip, Param.InOut(shm, 0, 64));
            Assert.Equal(TeeResult.ErrorOutOfMemory, r.Ret);
            Assert.Equal(0, g.Driver.LiveKernelBuffers);
        }
        Assert.Equal(0, Os.BusyThreadCount(g.ClientId));
    }

    [Fact]
    public void AnRpcAllocAnswerOutsideRamIsAFailedAllocation()
    {
        var drv = new TeeGuest(machine, 5).Driver;
        drv.Probe(useRpcArg: false);
        uint session = drv.OpenSession(EchoTa.TaUuid).Session;
        var shm = drv.Register(64);
        drv.BadRpcAllocAddress = MmioPage;
        var r = drv.Invoke(session, EchoTa.CmdRpcRoundTrip, Param.InOut(shm, 0, 64));
        Assert.Equal(TeeResult.ErrorOutOfMemory, r.Ret);
    }
}
