using System.Buffers.Binary;
using Jit.SecureWorld.Optee;

namespace Jit.SecureWorld.Tests;

/// <summary>Hands out 4 KiB pages of one guest's part of the machine memory, contiguous or scattered.</summary>
public sealed class PageAllocator(ulong start, ulong end)
{
    public const int PageSize = 4096;
    private ulong next = start;

    public ulong Contiguous(int bytes)
    {
        ulong pages = (ulong)Math.Max(1, (bytes + PageSize - 1) / PageSize);
        ulong at = next;
        next += pages * PageSize;
        if (next > end) throw new InvalidOperationException("test guest out of pages");
        return at;
    }

    /// <summary><paramref name="count"/> pages neither adjacent nor in order, as a kernel's allocator may give them.</summary>
    public ulong[] Scattered(int count)
    {
        ulong block = Contiguous(2 * count * PageSize);
        return Enumerable.Range(0, count).Select(i => block + (ulong)(2 * (count - i) - 1) * PageSize).ToArray();
    }
}

/// <summary>One struct optee_msg_param: its attribute and the three words of its union.</summary>
public readonly record struct Param(ulong Attr, ulong A = 0, ulong B = 0, ulong C = 0)
{
    public static Param None => new(OpteeMsg.AttrTypeNone);
    public static Param ValueIn(ulong a, ulong b = 0, ulong c = 0) => new(OpteeMsg.AttrTypeValueInput, a, b, c);
    public static Param ValueOut => new(OpteeMsg.AttrTypeValueOutput);
    public static Param Tmem(ulong type, ulong address, ulong size, ulong shmRef = 0) => new(type, address, size, shmRef);
    public static Param Rmem(ulong type, ulong offset, ulong size, ulong cookie) => new(type, offset, size, cookie);
    public static Param In(RegisteredShm shm, int offset, int size) => Rmem(OpteeMsg.AttrTypeRmemInput, (ulong)offset, (ulong)size, shm.Cookie);
    public static Param Out(RegisteredShm shm, int offset, int size) => Rmem(OpteeMsg.AttrTypeRmemOutput, (ulong)offset, (ulong)size, shm.Cookie);
    public static Param InOut(RegisteredShm shm, int offset, int size) => Rmem(OpteeMsg.AttrTypeRmemInout, (ulong)offset, (ulong)size, shm.Cookie);
}

/// <summary>Shared memory the driver registered: scattered pages, a page offset, and the kernel-pointer cookie.</summary>
public sealed class RegisteredShm(ArrayMachineMemory memory, ulong cookie, ulong[] pages, int offset, int size)
{
    public ulong Cookie { get; } = cookie;
    public ulong[] Pages { get; } = pages;
    public int Offset { get; } = offset;
    public int Size { get; } = size;

    public void Write(int at, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++) memory.At(Address(at + i), 1)[0] = data[i];
    }

    public byte[] Read(int at, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = memory.At(Address(at + i), 1)[0];
        return bytes;
    }

    public ulong Address(int at) => Pages[(Offset + at) / PageAllocator.PageSize] + (ulong)((Offset + at) % PageAllocator.PageSize);
}

/// <summary>A call left suspended at an RPC: where its argument struct is and the RPC's registers.</summary>
public readonly record struct PendingCall(ulong At, int Count, ulong? InlineRpcArg, SecureCall Rpc, uint Smc);

/// <summary>How the driver passes the argument struct.</summary>
public enum ArgMode
{
    WithArg,
    RpcArg,
    RegdArg,
}

/// <summary>The result of one message: the SMC status and what came back in the argument struct.</summary>
public readonly record struct MsgResult(uint Smc, uint Ret, uint Origin, uint Session, Param[] Params);

/// <summary>
/// Drives the secure world as Linux 6.1's optee driver does for one client (smc_abi.c, call.c): the probe, the
/// argument structs, shared-memory registration with page lists, and the RPCs (RPC_FUNC_ALLOC/FREE and the
/// SHM_ALLOC/SHM_FREE commands) answered from this guest's pages. The hypervisor's part is only A7.
/// </summary>
public sealed class LinuxOpteeDriver
{
    private readonly SecureMonitor monitor;
    private readonly ArrayMachineMemory memory;
    private readonly PageAllocator pages;
    private readonly Dictionary<ulong, ulong> rpcArgs = [];
    private readonly Dictionary<ulong, ulong> kernelBuffers = [];
    private ulong nextCookie;
    private RegisteredShm? argCache;

    public LinuxOpteeDriver(SecureMonitor monitor, ArrayMachineMemory memory, uint clientId, PageAllocator pages,
        ulong cookieBase = 0xffff_0000_1000_0000)
    {
        this.monitor = monitor;
        this.memory = memory;
        this.pages = pages;
        ClientId = clientId;
        nextCookie = cookieBase;
    }

    public uint ClientId { get; }
    public uint Capabilities { get; private set; }
    public int RpcParamCount { get; private set; }
    public bool ShmCacheEnabled { get; private set; }

    /// <summary>Every RPC the secure world asked for, in order: "alloc", "free", "cmd 6", "cmd 7".</summary>
    public List<string> Rpcs { get; } = [];
    public int LiveRpcArgs => rpcArgs.Count;
    public int LiveKernelBuffers => kernelBuffers.Count;

    /// <summary>Answer the next RPC_FUNC_ALLOC with a null address, as a driver out of memory does.</summary>
    public bool FailNextRpcAlloc { get; set; }
    /// <summary>Answer the next RPC_FUNC_ALLOC, or the next SHM_ALLOC, with this address instead of memory of its own.</summary>
    public ulong? BadRpcAllocAddress { get; set; }
    public ulong? BadShmAllocAddress { get; set; }

    /// <summary>Answer SHM_ALLOC with a page list (a dynamically allocated buffer) rather than one physical address.</summary>
    public bool NoncontigShmAlloc { get; set; }

    public ulong NewCookie() => nextCookie += 0x40;

    public SecureCall Fast(uint fid, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0)
    {
        var call = new SecureCall(fid, ClientId) { A1 = a1, A2 = a2, A3 = a3 };
        monitor.Smc(ref call);
        return call;
    }

    /// <summary>optee_probe: API UID and revision, OS revision, thread count, capabilities, the shm cache.</summary>
    public void Probe()
    {
        var uid = Fast(OpteeSmc.CallsUid);
        Assert.Equal([OpteeSmc.ApiUid0, OpteeSmc.ApiUid1, OpteeSmc.ApiUid2, OpteeSmc.ApiUid3], new[] { uid.A0, uid.A1, uid.A2, uid.A3 }.Select(x => (uint)x));
        Fast(OpteeSmc.GetOsRevision);
        var revision = Fast(OpteeSmc.CallsRevision);
        Assert.Equal(OpteeSmc.ApiRevisionMajor, (uint)revision.A0);
        var caps = Fast(OpteeSmc.ExchangeCapabilities, OpteeSmc.NsecCapUniprocessor);
        Assert.Equal(OpteeSmc.ReturnOk, (uint)caps.A0);
        Capabilities = (uint)caps.A1;
        RpcParamCount = (Capabilities & OpteeSmc.SecCapRpcArg) != 0 ? (byte)caps.A3 : 0;
        while ((uint)Fast(OpteeSmc.DisableShmCache).A0 == OpteeSmc.ReturnOk) { }
        if (RpcParamCount == 0)
        {
            Assert.Equal(OpteeSmc.ReturnOk, (uint)Fast(OpteeSmc.EnableShmCache).A0);
            ShmCacheEnabled = true;
        }
    }

    /// <summary>Like Linux's remove path: empties the shm cache, freeing each RPC buffer it hands back.</summary>
    public int DisableShmCache()
    {
        int freed = 0;
        while (true)
        {
            var r = Fast(OpteeSmc.DisableShmCache);
            if ((uint)r.A0 != OpteeSmc.ReturnOk) break;
            Assert.True(rpcArgs.Remove(OpteeSmc.Pair(r.A1, r.A2)), "the OS returned a cookie it was never given");
            freed++;
        }
        ShmCacheEnabled = false;
        return freed;
    }

    public ArgMode DefaultMode => RpcParamCount > 0 ? ArgMode.RegdArg : ArgMode.WithArg;

    public MsgResult OpenSession(Guid uuid, uint login, params Param[] ps)
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

    /// <summary>optee_shm_register: scattered pages, a page list, REGISTER_SHM with a private argument struct.</summary>
    public RegisteredShm Register(int size, int pageOffset = 0) => Register(size, pageOffset, out _);

    public RegisteredShm Register(int size, int pageOffset, out MsgResult result)
    {
        int count = (pageOffset + size + PageAllocator.PageSize - 1) / PageAllocator.PageSize;
        var shm = new RegisteredShm(memory, NewCookie(), pages.Scattered(count), pageOffset, size);
        ulong list = WritePageList(shm.Pages);
        result = Call(OpteeMsg.CmdRegisterShm, 0, 0,
            [Param.Tmem(OpteeMsg.AttrTypeTmemOutput | OpteeMsg.AttrNoncontig, list | (uint)pageOffset, (ulong)size, shm.Cookie)],
            PrivateMode);
        return shm;
    }

    public MsgResult Unregister(ulong cookie) =>
        Call(OpteeMsg.CmdUnregisterShm, 0, 0, [Param.Rmem(OpteeMsg.AttrTypeRmemInput, 0, 0, cookie)], PrivateMode);

    private ArgMode PrivateMode => RpcParamCount > 0 ? ArgMode.RpcArg : ArgMode.WithArg;

    /// <summary>The NONCONTIG format: 511 page addresses and the address of the next list page, per 4 KiB page.</summary>
    public ulong WritePageList(IReadOnlyList<ulong> dataPages)
    {
        int listPages = (dataPages.Count + OpteeMsg.PageListEntries - 1) / OpteeMsg.PageListEntries;
        ulong list = pages.Contiguous(listPages * PageAllocator.PageSize);
        for (int i = 0; i < dataPages.Count; i++)
        {
            int page = i / OpteeMsg.PageListEntries, entry = i % OpteeMsg.PageListEntries;
            ulong at = list + (ulong)(page * PageAllocator.PageSize + entry * 8);
            BinaryPrimitives.WriteUInt64LittleEndian(memory.At(at, 8), dataPages[i]);
            if (entry == OpteeMsg.PageListEntries - 1 && i + 1 < dataPages.Count)
                BinaryPrimitives.WriteUInt64LittleEndian(memory.At(list + (ulong)(page * PageAllocator.PageSize + 511 * 8), 8),
                    list + (ulong)((page + 1) * PageAllocator.PageSize));
        }
        return list;
    }

    /// <summary>Writes the message where <paramref name="mode"/> puts it, makes the call, answers RPCs, reads the result.</summary>
    public MsgResult Call(uint cmd, uint func, uint session, Param[] ps, ArgMode? mode = null, uint cancelId = 0)
    {
        var pending = Start(cmd, func, session, ps, mode, cancelId);
        return ReadArg(pending.At, pending.Smc, ps.Length);
    }

    /// <summary>
    /// Like <see cref="Call"/>, but stops at the RPC after <paramref name="stopAfterRpcs"/> answered ones, leaving the
    /// call suspended in the secure world; <see cref="Finish"/> answers it and goes on.
    /// </summary>
    public PendingCall Start(uint cmd, uint func, uint session, Param[] ps, ArgMode? mode = null, uint cancelId = 0,
        int stopAfterRpcs = int.MaxValue)
    {
        var m = mode ?? DefaultMode;
        int size = OpteeMsg.ArgSize(ps.Length) + (m == ArgMode.WithArg ? 0 : OpteeMsg.ArgSize(RpcParamCount));
        ulong at;
        var call = new SecureCall(0, ClientId);
        if (m == ArgMode.RegdArg)
        {
            // optee_get_msg_arg's cache: a registered page, the argument at an offset in it.
            argCache ??= Register(PageAllocator.PageSize);
            int offset = 64 + 512 * (argSlot++ % 7);
            at = argCache.Address(offset);
            call.A0 = OpteeSmc.CallWithRegdArg;
            call.A1 = argCache.Cookie >> 32;
            call.A2 = (uint)argCache.Cookie;
            call.A3 = (uint)offset;
        }
        else
        {
            at = pages.Contiguous(size);
            call.A0 = m == ArgMode.WithArg ? OpteeSmc.CallWithArg : OpteeSmc.CallWithRpcArg;
            call.A1 = at >> 32;
            call.A2 = (uint)at;
        }
        WriteArg(at, cmd, func, session, cancelId, ps);
        ulong? inline = m == ArgMode.WithArg ? null : at + (ulong)OpteeMsg.ArgSize(ps.Length);
        uint smc = Run(call, inline, stopAfterRpcs);
        return new PendingCall(at, ps.Length, inline, Suspended, smc);
    }

    /// <summary>Answers the RPC a call was left at and runs it to its end.</summary>
    public MsgResult Finish(PendingCall pending)
    {
        var param = pending.Rpc;
        HandleRpc(ref param, pending.InlineRpcArg);
        param.A0 = OpteeSmc.ReturnFromRpc;
        return ReadArg(pending.At, Run(param, pending.InlineRpcArg), pending.Count);
    }

    private int argSlot;

    public void WriteArg(ulong at, uint cmd, uint func, uint session, uint cancelId, Param[] ps)
    {
        var bytes = memory.At(at, OpteeMsg.ArgSize(ps.Length));
        bytes.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, cmd);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], func);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], session);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[12..], cancelId);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[28..], (uint)ps.Length);
        for (int i = 0; i < ps.Length; i++)
        {
            var p = bytes[(32 + 32 * i)..];
            BinaryPrimitives.WriteUInt64LittleEndian(p, ps[i].Attr);
            BinaryPrimitives.WriteUInt64LittleEndian(p[8..], ps[i].A);
            BinaryPrimitives.WriteUInt64LittleEndian(p[16..], ps[i].B);
            BinaryPrimitives.WriteUInt64LittleEndian(p[24..], ps[i].C);
        }
    }

    public MsgResult ReadArg(ulong at, uint smc, int count)
    {
        var bytes = memory.At(at, OpteeMsg.ArgSize(count));
        var ps = new Param[count];
        for (int i = 0; i < count; i++)
        {
            var p = bytes[(32 + 32 * i)..];
            ps[i] = new Param(BinaryPrimitives.ReadUInt64LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[16..]), BinaryPrimitives.ReadUInt64LittleEndian(p[24..]));
        }
        return new MsgResult(smc, BinaryPrimitives.ReadUInt32LittleEndian(bytes[20..]), BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]), ps);
    }

    /// <summary>
    /// optee_smc_do_call_with_arg: the SMC, then as long as it returns an RPC, the RPC's work and RETURN_FROM_RPC
    /// with a1–a3 as they came back. <paramref name="stopAfterRpcs"/> leaves the call suspended in secure world.
    /// </summary>
    public uint Run(SecureCall param, ulong? inlineRpcArg, int stopAfterRpcs = int.MaxValue)
    {
        for (int rpcs = 0; ; rpcs++)
        {
            var res = param;
            monitor.Smc(ref res);
            uint a0 = (uint)res.A0;
            LastResult = res;
            if (!OpteeSmc.IsRpc(a0)) return a0;
            param.A0 = a0;
            param.A1 = res.A1;
            param.A2 = res.A2;
            param.A3 = res.A3;
            if (rpcs == stopAfterRpcs)
            {
                Suspended = param;
                return a0;
            }
            HandleRpc(ref param, inlineRpcArg);
            param.A0 = OpteeSmc.ReturnFromRpc;
        }
    }

    public SecureCall LastResult { get; private set; }

    /// <summary>The driver's register set at the RPC a call was stopped at: what RETURN_FROM_RPC is built from.</summary>
    public SecureCall Suspended { get; private set; }

    private void HandleRpc(ref SecureCall param, ulong? inlineRpcArg)
    {
        switch ((uint)param.A0 & 0xFFFF)
        {
            case OpteeSmc.RpcFuncAlloc:
                Rpcs.Add("alloc");
                if (FailNextRpcAlloc)
                {
                    FailNextRpcAlloc = false;
                    param.A1 = param.A2 = param.A4 = param.A5 = 0;
                    break;
                }
                ulong pa = BadRpcAllocAddress ?? pages.Contiguous((int)(uint)param.A1), cookie = NewCookie();
                BadRpcAllocAddress = null;
                rpcArgs[cookie] = pa;
                param.A1 = pa >> 32;
                param.A2 = (uint)pa;
                param.A4 = cookie >> 32;
                param.A5 = (uint)cookie;
                break;
            case OpteeSmc.RpcFuncFree:
                Rpcs.Add("free");
                Assert.True(rpcArgs.Remove(OpteeSmc.Pair(param.A1, param.A2)), "RPC_FREE of a cookie the driver never gave");
                break;
            case OpteeSmc.RpcFuncCmd:
                ulong arg = inlineRpcArg ?? rpcArgs[OpteeSmc.Pair(param.A1, param.A2)];
                HandleCommand(arg);
                break;
            default:
                Rpcs.Add("unknown");
                break;
        }
    }

    private void HandleCommand(ulong at)
    {
        var bytes = memory.At(at, OpteeMsg.ArgSize(1));
        uint cmd = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        Rpcs.Add($"cmd {cmd}");
        var p = bytes[32..];
        ulong type = BinaryPrimitives.ReadUInt64LittleEndian(p[8..]), value = BinaryPrimitives.ReadUInt64LittleEndian(p[16..]);
        uint ret = TeeResult.Success;
        switch (cmd)
        {
            case OpteeMsg.RpcCmdShmAlloc:
                Assert.Equal(OpteeMsg.AttrTypeValueInput, BinaryPrimitives.ReadUInt64LittleEndian(p));
                Assert.Equal(OpteeMsg.RpcShmTypeKernel, type);
                ulong cookie = NewCookie();
                if (NoncontigShmAlloc)
                {
                    var scattered = pages.Scattered((int)((value + 4095) / 4096));
                    kernelBuffers[cookie] = scattered[0];
                    BinaryPrimitives.WriteUInt64LittleEndian(p, OpteeMsg.AttrTypeTmemOutput | OpteeMsg.AttrNoncontig);
                    BinaryPrimitives.WriteUInt64LittleEndian(p[8..], WritePageList(scattered));
                }
                else
                {
                    ulong buffer = BadShmAllocAddress ?? pages.Contiguous((int)value);
                    BadShmAllocAddress = null;
                    kernelBuffers[cookie] = buffer;
                    BinaryPrimitives.WriteUInt64LittleEndian(p, OpteeMsg.AttrTypeTmemOutput);
                    BinaryPrimitives.WriteUInt64LittleEndian(p[8..], buffer);
                }
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
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[20..], ret);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[24..], TeeResult.OriginComms);
    }

    /// <summary>The (first page of the) last buffer SHM_ALLOC handed out, to see what the TA wrote there.</summary>
    public ulong LastKernelBuffer { get; private set; }
}
