using System.Buffers.Binary;
using Jit.Hypervisor.Smccc;
using Jit.SecureWorld.Optee;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>One struct optee_msg_param: its attribute and the three words of its union.</summary>
public readonly record struct Param(ulong Attr, ulong A = 0, ulong B = 0, ulong C = 0)
{
    public static Param None => new(OpteeMsg.AttrTypeNone);
    public static Param ValueIn(ulong a, ulong b = 0, ulong c = 0) => new(OpteeMsg.AttrTypeValueInput, a, b, c);
    public static Param ValueOut => new(OpteeMsg.AttrTypeValueOutput);
    public static Param Rmem(ulong type, ulong offset, ulong size, ulong cookie) => new(type, offset, size, cookie);
    public static Param In(GuestShm shm, int offset, int size) => Rmem(OpteeMsg.AttrTypeRmemInput, (ulong)offset, (ulong)size, shm.Cookie);
    public static Param Out(GuestShm shm, int offset, int size) => Rmem(OpteeMsg.AttrTypeRmemOutput, (ulong)offset, (ulong)size, shm.Cookie);
    public static Param InOut(GuestShm shm, int offset, int size) => Rmem(OpteeMsg.AttrTypeRmemInout, (ulong)offset, (ulong)size, shm.Cookie);
    /// <summary>A temporary reference by page list (what Linux passes for memory it did not register).</summary>
    public static Param Noncontig(ulong type, ulong list, ulong size) => new(type | OpteeMsg.AttrNoncontig, list, size);
}

/// <summary>Shared memory of the guest: scattered pages, a page offset, and the kernel-pointer cookie.</summary>
public sealed class GuestShm(TeeGuest guest, ulong cookie, ulong[] pages, int offset, int size)
{
    public ulong Cookie { get; } = cookie;
    public ulong[] Pages { get; } = pages;
    public int Offset { get; } = offset;
    public int Size { get; } = size;

    public void Write(int at, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++) guest.Write(Address(at + i), data.Slice(i, 1));
    }

    public byte[] Read(int at, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = guest.Read(Address(at + i), 1)[0];
        return bytes;
    }

    public ulong Address(int at) => Pages[(Offset + at) / GuestPages.PageSize] + (ulong)((Offset + at) % GuestPages.PageSize);
}

public enum ArgMode
{
    WithArg,
    RpcArg,
    RegdArg,
}

public readonly record struct MsgResult(uint Smc, uint Ret, uint Origin, uint Session, Param[] Params);

/// <summary>A call left at an RPC: where its argument struct is and the guest's registers at that RPC.</summary>
public readonly record struct PendingCall(ulong At, int Count, ulong? InlineRpcArg, SmcccCall Rpc, uint Smc);

/// <summary>
/// Drives the OP-TEE mediator as Linux 6.1's optee driver does (smc_abi.c, call.c), through the domain's SMCCC
/// dispatcher and its guest memory by IPA: probe, argument structs, shared memory with page lists, RPCs.
/// </summary>
public sealed class GuestOpteeDriver(TeeGuest guest)
{
    private readonly Dictionary<ulong, ulong> rpcArgs = [];
    private readonly Dictionary<ulong, ulong> kernelBuffers = [];
    private ulong nextCookie = 0xffff_0000_1000_0000 + ((ulong)guest.Domain.DomId << 32);
    private GuestShm? argCache;
    private int argSlot;

    public uint Capabilities { get; private set; }
    public int RpcParamCount { get; private set; }
    public List<string> Rpcs { get; } = [];
    public int LiveKernelBuffers => kernelBuffers.Count;
    public int LiveRpcArgs => rpcArgs.Count;

    /// <summary>Answer SHM_ALLOC with a page list rather than one physical address.</summary>
    public bool NoncontigShmAlloc { get; set; } = true;
    /// <summary>Answer the next SHM_ALLOC with this address (page list or buffer) instead of memory of its own.</summary>
    public ulong? BadShmAllocAddress { get; set; }
    public ulong? BadRpcAllocAddress { get; set; }

    public ulong NewCookie() => nextCookie += 0x40;

    public SmcccCall Fast(uint fid, ulong a1 = 0) => guest.Smc(fid, a1);

    public void Probe(bool useRpcArg = true)
    {
        var uid = Fast(OpteeSmc.CallsUid);
        Assert.Equal([OpteeSmc.ApiUid0, OpteeSmc.ApiUid1, OpteeSmc.ApiUid2, OpteeSmc.ApiUid3], new[] { uid.X0, uid.X1, uid.X2, uid.X3 }.Select(x => (uint)x));
        var caps = Fast(OpteeSmc.ExchangeCapabilities, OpteeSmc.NsecCapUniprocessor);
        Assert.Equal(OpteeSmc.ReturnOk, (uint)caps.X0);
        Capabilities = (uint)caps.X1;
        RpcParamCount = useRpcArg && (Capabilities & OpteeSmc.SecCapRpcArg) != 0 ? (byte)caps.X3 : 0;
        while ((uint)Fast(OpteeSmc.DisableShmCache).X0 == OpteeSmc.ReturnOk) { }
        if (RpcParamCount == 0) Assert.Equal(OpteeSmc.ReturnOk, (uint)Fast(OpteeSmc.EnableShmCache).X0);
    }

    public ArgMode DefaultMode => RpcParamCount > 0 ? ArgMode.RegdArg : ArgMode.WithArg;

    public MsgResult OpenSession(Guid uuid, uint login = OpteeMsg.LoginPublic, params Param[] ps)
    {
        Span<byte> octets = stackalloc byte[16];
        uuid.TryWriteBytes(octets, bigEndian: true, out _);
        var meta0 = new Param(OpteeMsg.AttrTypeValueInput | OpteeMsg.AttrMeta,
            BinaryPrimitives.ReadUInt64LittleEndian(octets), BinaryPrimitives.ReadUInt64LittleEndian(octets[8..]));
        var meta1 = new Param(OpteeMsg.AttrTypeValueInput | OpteeMsg.AttrMeta, 0, 0, login);
        var r = Call(OpteeMsg.CmdOpenSession, 0, 0, [meta0, meta1, .. ps]);
        return r with { Params = r.Params[2..] };
    }

    public MsgResult Invoke(uint session, uint func, params Param[] ps) => Call(OpteeMsg.CmdInvokeCommand, func, session, ps);

    public MsgResult CloseSession(uint session) => Call(OpteeMsg.CmdCloseSession, 0, session, []);

    public GuestShm Register(int size, int pageOffset = 0) => Register(size, pageOffset, out _);

    public GuestShm Register(int size, int pageOffset, out MsgResult result)
    {
        int count = (pageOffset + size + GuestPages.PageSize - 1) / GuestPages.PageSize;
        var shm = new GuestShm(guest, NewCookie(), guest.Pages.Scattered(count), pageOffset, size);
        ulong list = WritePageList(shm.Pages);
        result = Call(OpteeMsg.CmdRegisterShm, 0, 0,
            [new Param(OpteeMsg.AttrTypeTmemOutput | OpteeMsg.AttrNoncontig, list | (uint)pageOffset, (ulong)size, shm.Cookie)], PrivateMode);
        return shm;
    }

    public MsgResult Unregister(ulong cookie) =>
        Call(OpteeMsg.CmdUnregisterShm, 0, 0, [Param.Rmem(OpteeMsg.AttrTypeRmemInput, 0, 0, cookie)], PrivateMode);

    private ArgMode PrivateMode => RpcParamCount > 0 ? ArgMode.RpcArg : ArgMode.WithArg;

    /// <summary>The NONCONTIG format: 511 page addresses and the address of the next list page, per 4 KiB page.</summary>
    public ulong WritePageList(IReadOnlyList<ulong> dataPages)
    {
        int listPages = (dataPages.Count + OpteeMsg.PageListEntries - 1) / OpteeMsg.PageListEntries;
        ulong list = guest.Pages.Contiguous(Math.Max(1, listPages) * GuestPages.PageSize);
        for (int i = 0; i < dataPages.Count; i++)
        {
            int page = i / OpteeMsg.PageListEntries, entry = i % OpteeMsg.PageListEntries;
            guest.Write64(list + (ulong)(page * GuestPages.PageSize + entry * 8), dataPages[i]);
            if (entry == OpteeMsg.PageListEntries - 1 && i + 1 < dataPages.Count)
                guest.Write64(list + (ulong)(page * GuestPages.PageSize + 511 * 8), list + (ulong)((page + 1) * GuestPages.PageSize));
        }
        return list;
    }

    public MsgResult Call(uint cmd, uint func, uint session, Param[] ps, ArgMode? mode = null, uint cancelId = 0)
    {
        var pending = Start(cmd, func, session, ps, mode, cancelId);
        return ReadArg(pending.At, pending.Smc, ps.Length);
    }

    /// <summary>Writes the argument struct where <paramref name="mode"/> puts it; returns the SMC that passes it.</summary>
    public (ulong At, SmcccCall Smc, ulong? InlineRpcArg) Place(uint cmd, uint func, uint session, Param[] ps, ArgMode mode, uint cancelId = 0)
    {
        int size = OpteeMsg.ArgSize(ps.Length) + (mode == ArgMode.WithArg ? 0 : OpteeMsg.ArgSize(RpcParamCount));
        ulong at;
        var call = new SmcccCall { DomId = guest.Domain.DomId, Conduit = SmcccConduit.Smc, X7 = 0xDEAD_BEEF };
        if (mode == ArgMode.RegdArg)
        {
            argCache ??= Register(GuestPages.PageSize);
            int offset = 64 + 512 * (argSlot++ % 7);
            at = argCache.Address(offset);
            call.X0 = OpteeSmc.CallWithRegdArg;
            call.X1 = argCache.Cookie >> 32;
            call.X2 = (uint)argCache.Cookie;
            call.X3 = (uint)offset;
        }
        else
        {
            at = guest.Pages.Contiguous(size);
            call.X0 = mode == ArgMode.WithArg ? OpteeSmc.CallWithArg : OpteeSmc.CallWithRpcArg;
            call.X1 = at >> 32;
            call.X2 = (uint)at;
        }
        WriteArg(at, cmd, func, session, cancelId, ps);
        return (at, call, mode == ArgMode.WithArg ? null : at + (ulong)OpteeMsg.ArgSize(ps.Length));
    }

    public PendingCall Start(uint cmd, uint func, uint session, Param[] ps, ArgMode? mode = null, uint cancelId = 0,
        int stopAfterRpcs = int.MaxValue)
    {
        var (at, call, inline) = Place(cmd, func, session, ps, mode ?? DefaultMode, cancelId);
        uint smc = Run(call, inline, stopAfterRpcs);
        return new PendingCall(at, ps.Length, inline, Suspended, smc);
    }

    public MsgResult Finish(PendingCall pending)
    {
        var param = pending.Rpc;
        HandleRpc(ref param, pending.InlineRpcArg);
        param.X0 = OpteeSmc.ReturnFromRpc;
        return ReadArg(pending.At, Run(param, pending.InlineRpcArg), pending.Count);
    }

    public void WriteArg(ulong at, uint cmd, uint func, uint session, uint cancelId, Param[] ps)
    {
        var bytes = new byte[OpteeMsg.ArgSize(ps.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, cmd);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), func);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), session);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), cancelId);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), (uint)ps.Length);
        for (int i = 0; i < ps.Length; i++)
        {
            var p = bytes.AsSpan(32 + 32 * i);
            BinaryPrimitives.WriteUInt64LittleEndian(p, ps[i].Attr);
            BinaryPrimitives.WriteUInt64LittleEndian(p[8..], ps[i].A);
            BinaryPrimitives.WriteUInt64LittleEndian(p[16..], ps[i].B);
            BinaryPrimitives.WriteUInt64LittleEndian(p[24..], ps[i].C);
        }
        guest.Write(at, bytes);
    }

    public MsgResult ReadArg(ulong at, uint smc, int count)
    {
        var bytes = guest.Read(at, OpteeMsg.ArgSize(count));
        var ps = new Param[count];
        for (int i = 0; i < count; i++)
        {
            var p = bytes.AsSpan(32 + 32 * i);
            ps[i] = new Param(BinaryPrimitives.ReadUInt64LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[16..]), BinaryPrimitives.ReadUInt64LittleEndian(p[24..]));
        }
        return new MsgResult(smc, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(20)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24)),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)), ps);
    }

    public SmcccCall LastResult { get; private set; }
    public SmcccCall Suspended { get; private set; }

    /// <summary>optee_smc_do_call_with_arg: the SMC, then RPC work and RETURN_FROM_RPC for as long as RPCs come back.</summary>
    public uint Run(SmcccCall param, ulong? inlineRpcArg, int stopAfterRpcs = int.MaxValue)
    {
        for (int rpcs = 0; ; rpcs++)
        {
            var res = param;
            guest.Domain.Smccc.Dispatch(ref res);
            uint a0 = (uint)res.X0;
            LastResult = res;
            if (!OpteeSmc.IsRpc(a0)) return a0;
            param.X0 = a0;
            param.X1 = res.X1;
            param.X2 = res.X2;
            param.X3 = res.X3;
            if (rpcs == stopAfterRpcs)
            {
                Suspended = param;
                return a0;
            }
            HandleRpc(ref param, inlineRpcArg);
            param.X0 = OpteeSmc.ReturnFromRpc;
        }
    }

    private void HandleRpc(ref SmcccCall param, ulong? inlineRpcArg)
    {
        switch ((uint)param.X0 & 0xFFFF)
        {
            case OpteeSmc.RpcFuncAlloc:
                Rpcs.Add("alloc");
                ulong pa = BadRpcAllocAddress ?? guest.Pages.Contiguous((int)(uint)param.X1), cookie = NewCookie();
                BadRpcAllocAddress = null;
                rpcArgs[cookie] = pa;
                param.X1 = pa >> 32;
                param.X2 = (uint)pa;
                param.X4 = cookie >> 32;
                param.X5 = (uint)cookie;
                break;
            case OpteeSmc.RpcFuncFree:
                Rpcs.Add("free");
                Assert.True(rpcArgs.Remove(OpteeSmc.Pair(param.X1, param.X2)), "RPC_FREE of a cookie the driver never gave");
                break;
            case OpteeSmc.RpcFuncCmd:
                ulong arg = inlineRpcArg ?? rpcArgs[OpteeSmc.Pair(param.X1, param.X2)];
                HandleCommand(arg);
                break;
            default:
                Rpcs.Add("unknown");
                break;
        }
    }

    private void HandleCommand(ulong at)
    {
        var bytes = guest.Read(at, OpteeMsg.ArgSize(1));
        uint cmd = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        Rpcs.Add($"cmd {cmd}");
        var p = bytes.AsSpan(32);
        ulong type = BinaryPrimitives.ReadUInt64LittleEndian(p[8..]), value = BinaryPrimitives.ReadUInt64LittleEndian(p[16..]);
        uint ret = TeeResult.Success;
        switch (cmd)
        {
            case OpteeMsg.RpcCmdShmAlloc:
                Assert.Equal(OpteeMsg.AttrTypeValueInput, BinaryPrimitives.ReadUInt64LittleEndian(p));
                ulong cookie = NewCookie();
                if (NoncontigShmAlloc)
                {
                    var scattered = guest.Pages.Scattered((int)((value + 4095) / 4096));
                    kernelBuffers[cookie] = scattered[0];
                    BinaryPrimitives.WriteUInt64LittleEndian(p, OpteeMsg.AttrTypeTmemOutput | OpteeMsg.AttrNoncontig);
                    BinaryPrimitives.WriteUInt64LittleEndian(p[8..], BadShmAllocAddress ?? WritePageList(scattered));
                }
                else
                {
                    ulong buffer = BadShmAllocAddress ?? guest.Pages.Contiguous((int)value);
                    kernelBuffers[cookie] = buffer;
                    BinaryPrimitives.WriteUInt64LittleEndian(p, OpteeMsg.AttrTypeTmemOutput);
                    BinaryPrimitives.WriteUInt64LittleEndian(p[8..], buffer);
                }
                BadShmAllocAddress = null;
                BinaryPrimitives.WriteUInt64LittleEndian(p[16..], value);
                BinaryPrimitives.WriteUInt64LittleEndian(p[24..], cookie);
                LastKernelBuffer = kernelBuffers[cookie];
                break;
            case OpteeMsg.RpcCmdShmFree:
                Assert.True(kernelBuffers.Remove(value), "SHM_FREE of a buffer the driver never allocated");
                break;
            default:
                ret = TeeResult.ErrorNotImplemented;
                break;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20), ret);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), TeeResult.OriginComms);
        guest.Write(at, bytes);
    }

    public ulong LastKernelBuffer { get; private set; }
}
