using System.Buffers.Binary;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.SecureWorld.Tests;

/// <summary>Addresses, lengths and structures a hostile or broken normal world may send, and the ABI's answer to each.</summary>
public class BadInputTests
{
    private readonly TestMachine machine;
    private readonly LinuxOpteeDriver guest;
    private readonly uint session;
    private readonly PageAllocator scratch = new(TestMachine.RamBase + 0x30_0000, TestMachine.RamBase + 0x40_0000);

    public BadInputTests()
    {
        machine = new TestMachine(new OpteeOptions { MaxSharedMemoryPagesPerClient = 600 });
        guest = machine.Guest(0);
        session = guest.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session;
        machine.Memory.Forbidden = (TestMachine.RamBase + 0x3F_0000, TestMachine.RamBase + 0x3F_1000);
    }

    private uint CallWithArg(ulong address) => (uint)guest.Fast(OpteeSmc.CallWithArg, address >> 32, (uint)address).A0;

    [Fact]
    public void An_argument_struct_misaligned_outside_RAM_forbidden_or_running_off_the_end_is_EBADADDR()
    {
        ulong arg = scratch.Contiguous(4096);
        guest.WriteArg(arg, OpteeMsg.CmdInvokeCommand, EchoTa.CmdNull, session, 0, []);
        Assert.Equal(OpteeSmc.ReturnOk, CallWithArg(arg));
        Assert.Equal(OpteeSmc.ReturnEBadAddr, CallWithArg(arg + 4));
        Assert.Equal(OpteeSmc.ReturnEBadAddr, CallWithArg(0x1000));
        Assert.Equal(OpteeSmc.ReturnEBadAddr, CallWithArg(machine.Memory.Forbidden.Start));
        Assert.Equal(OpteeSmc.ReturnEBadAddr, CallWithArg(0xFFFF_FFFF_FFFF_FFF8));
        // The header fits at the very end of RAM, the parameters it announces do not.
        ulong last = machine.Memory.End - 32;
        guest.WriteArg(last, OpteeMsg.CmdInvokeCommand, EchoTa.CmdNull, session, 0, []);
        BinaryPrimitives.WriteUInt32LittleEndian(machine.Memory.At(last + 28, 4), 2);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, CallWithArg(last));
        // CALL_WITH_RPC_ARG needs room for the RPC struct after the call's own.
        guest.WriteArg(last, OpteeMsg.CmdInvokeCommand, EchoTa.CmdNull, session, 0, []);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)guest.Fast(OpteeSmc.CallWithRpcArg, last >> 32, (uint)last).A0);
    }

    [Fact]
    public void A_registered_argument_needs_a_known_cookie_and_an_offset_inside_it()
    {
        var page = guest.Register(4096);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)guest.Fast(OpteeSmc.CallWithRegdArg, 0, 12345).A0);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)guest.Fast(OpteeSmc.CallWithRegdArg, page.Cookie >> 32, (uint)page.Cookie, 4096 - 32).A0);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)guest.Fast(OpteeSmc.CallWithRegdArg, page.Cookie >> 32, (uint)page.Cookie, 8000).A0);
        Assert.Equal(OpteeSmc.ReturnEBadAddr, (uint)guest.Fast(OpteeSmc.CallWithRegdArg, page.Cookie >> 32, (uint)page.Cookie, 4).A0);
    }

    [Fact]
    public void Too_many_parameters_is_bad_parameters_and_an_unknown_command_is_EBADCMD()
    {
        ulong arg = scratch.Contiguous(4096);
        guest.WriteArg(arg, OpteeMsg.CmdInvokeCommand, EchoTa.CmdNull, session, 0, []);
        BinaryPrimitives.WriteUInt32LittleEndian(machine.Memory.At(arg + 28, 4), 0xFFFF_FFFF);
        Assert.Equal(OpteeSmc.ReturnOk, CallWithArg(arg));
        Assert.Equal(TeeResult.ErrorBadParameters, BinaryPrimitives.ReadUInt32LittleEndian(machine.Memory.At(arg + 20, 4)));

        guest.WriteArg(arg, 0x55, 0, session, 0, []);
        Assert.Equal(OpteeSmc.ReturnEBadCmd, CallWithArg(arg));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(machine.Memory.At(arg + 20, 4)));
    }

    public static TheoryData<ulong, ulong, ulong> BadParams => new()
    {
        { OpteeMsg.AttrTypeValueInput | OpteeMsg.AttrMeta, 0, 0 },                     // meta outside open session
        { 0x4, 0, 0 },                                                                  // reserved type
        { 0xC, 0, 0 },
        { OpteeMsg.AttrTypeValueInput | 1ul << 40, 0, 0 },                             // unknown attribute bit
        { OpteeMsg.AttrTypeValueInput | OpteeMsg.AttrNoncontig, 0, 0 },                // NONCONTIG on a value
        { OpteeMsg.AttrTypeTmemInput, 0x1000, 16 },                                    // below RAM
        { OpteeMsg.AttrTypeTmemInput, TestMachine.RamBase + 0x3F_0800, 16 },           // MMIO-like window
        { OpteeMsg.AttrTypeTmemInput, TestMachine.RamBase + 0xFF_FFF0, 32 },           // runs off the end of RAM
        { OpteeMsg.AttrTypeTmemInput, 0xFFFF_FFFF_FFFF_FFF0, 0x20 },                   // wraps around
        { OpteeMsg.AttrTypeTmemInput, 0, 16 },                                         // null with a size
        { OpteeMsg.AttrTypeRmemInput, 0, 16 },                                         // cookie never registered
    };

    [Theory, MemberData(nameof(BadParams))]
    public void Malformed_parameters_are_bad_parameters_from_the_TEE(ulong attr, ulong a, ulong b)
    {
        var r = guest.Invoke(session, EchoTa.CmdNull, new Param(attr, a, b, 0x9999));
        Assert.Equal((OpteeSmc.ReturnOk, TeeResult.ErrorBadParameters, TeeResult.OriginTee), (r.Smc, r.Ret, r.Origin));
    }

    [Fact]
    public void A_registered_reference_must_stay_inside_its_registration()
    {
        var shm = guest.Register(100);
        Assert.Equal(TeeResult.Success, guest.Invoke(session, EchoTa.CmdNull, Param.In(shm, 0, 100)).Ret);
        Assert.Equal(TeeResult.ErrorBadParameters, guest.Invoke(session, EchoTa.CmdNull, Param.In(shm, 1, 100)).Ret);
        Assert.Equal(TeeResult.ErrorBadParameters, guest.Invoke(session, EchoTa.CmdNull,
            Param.Rmem(OpteeMsg.AttrTypeRmemInput, ulong.MaxValue, 2, shm.Cookie)).Ret);
        Assert.Equal(TeeResult.ErrorBadParameters, guest.Invoke(session, EchoTa.CmdNull,
            Param.Rmem(OpteeMsg.AttrTypeRmemInput, 50, ulong.MaxValue - 10, shm.Cookie)).Ret);
    }

    private uint RegisterRaw(ulong attr, ulong bufPtr, ulong size, ulong cookie) =>
        guest.Call(OpteeMsg.CmdRegisterShm, 0, 0, [new Param(attr, bufPtr, size, cookie)], ArgMode.RpcArg).Ret;

    private const ulong Noncontig = OpteeMsg.AttrTypeTmemOutput | OpteeMsg.AttrNoncontig;

    [Fact]
    public void A_page_list_with_a_bad_entry_link_or_size_is_refused()
    {
        ulong page = scratch.Contiguous(4096);
        ulong good = guest.WritePageList([page]);
        Assert.Equal(TeeResult.Success, RegisterRaw(Noncontig, good, 4096, 0x100));

        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(Noncontig, guest.WritePageList([page + 8]), 4096, 0x200));
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(Noncontig, guest.WritePageList([0x2000]), 4096, 0x200));
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(Noncontig, guest.WritePageList([machine.Memory.Forbidden.Start]), 4096, 0x200));
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(Noncontig, 0x3000, 4096, 0x200));      // the list is not in RAM
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(Noncontig, good, 0, 0x200));             // empty
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(Noncontig, good | 0xFFF, ulong.MaxValue - 100, 0x200));
        Assert.Equal(TeeResult.ErrorOutOfMemory, RegisterRaw(Noncontig, good, 1ul << 40, 0x200));       // past the budget
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(Noncontig, good, 4096, 0));             // cookie 0
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(Noncontig, good, 4096, 0x100));         // cookie in use
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(OpteeMsg.AttrTypeTmemOutput, page, 4096, 0x300)); // contiguous
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(OpteeMsg.AttrTypeRmemInput | OpteeMsg.AttrNoncontig, good, 4096, 0x300));

        // 512 pages need a second list page; its link must be page-aligned.
        var pages = Enumerable.Range(0, 512).Select(i => page).ToArray();
        ulong list = guest.WritePageList(pages);
        Assert.Equal(TeeResult.Success, RegisterRaw(Noncontig, list, 512 * 4096, 0x400));
        // The client's page budget (600) is now mostly spent.
        Assert.Equal(TeeResult.ErrorOutOfMemory, RegisterRaw(Noncontig, list, 100 * 4096, 0x600));
        Assert.Equal(TeeResult.Success, guest.Unregister(0x400).Ret);
        BinaryPrimitives.WriteUInt64LittleEndian(machine.Memory.At(list + 511 * 8, 8), list + 4096 + 8);
        Assert.Equal(TeeResult.ErrorBadParameters, RegisterRaw(Noncontig, list, 512 * 4096, 0x500));
    }

    [Fact]
    public void Open_session_without_its_meta_parameters_is_bad_parameters()
    {
        var r = guest.Call(OpteeMsg.CmdOpenSession, 0, 0, [Param.ValueIn(1), Param.ValueIn(2)]);
        Assert.Equal(TeeResult.ErrorBadParameters, r.Ret);
        var noLogin = guest.Call(OpteeMsg.CmdOpenSession, 0, 0, [new Param(OpteeMsg.AttrTypeValueInput | OpteeMsg.AttrMeta)]);
        Assert.Equal(TeeResult.ErrorBadParameters, noLogin.Ret);
    }
}
