using System.Buffers.Binary;
using Jit.Hypervisor.Smccc;
using Jit.Runtime.Memory;
using Jit.SecureWorld;
using Jit.SecureWorld.Optee;

namespace Jit.Hypervisor.Tee;

public sealed partial class OpteeMediator
{
    private const ulong PageMask = 0xFFF;

    private void StdCall(ref SmcccCall c, OpteeArgMode mode)
    {
        lock (gate)
        {
            if (!Live)
            {
                c.Return(OpteeSmc.ReturnENotAvail);
                return;
            }
            var call = FreeCall();
            if (call is null)
            {
                // a1–a3 preserved: Linux waits for a call to finish and issues the same SMC again.
                c.Return(OpteeSmc.ReturnEThreadLimit);
                return;
            }
            call.State = OpteeCallState.Running;
            uint status = Prepare(call, in c, mode, out bool refused);
            if (status != OpteeSmc.ReturnOk || refused)
            {
                if (status == OpteeSmc.ReturnOk) WriteArg(call, 0, call.Original.AsSpan(0, call.ArgSize));
                ReturnBorrowed(call);
                Release(call);
                if (status == OpteeSmc.ReturnOk) c.Return(OpteeSmc.ReturnOk, 0, 0, 0);
                else c.Return(status);
                return;
            }
            var shadow = call.Shadow!;
            var smc = new SecureCall(mode == OpteeArgMode.WithArg ? OpteeSmc.CallWithArg : OpteeSmc.CallWithRpcArg, clientId)
            {
                A1 = shadow.Machine >> 32,
                A2 = (uint)shadow.Machine,
            };
            Run(call, smc, ref c);
        }
    }

    private OpteeCall? FreeCall()
    {
        foreach (var call in calls)
            if (call.State == OpteeCallState.Free) return call;
        return null;
    }

    /// <summary>
    /// Copies the guest's argument struct into the call's shadow and translates it. An SMC status other than OK
    /// ends the call with it (EBADADDR, EBADCMD, ENOMEM); <paramref name="refused"/> ends it with OK and a TEE
    /// error in the guest's struct, as OP-TEE answers a malformed message.
    /// </summary>
    private uint Prepare(OpteeCall call, in SmcccCall c, OpteeArgMode mode, out bool refused)
    {
        refused = false;
        call.Mode = mode;
        call.NumParams = 0;
        ulong where = OpteeSmc.Pair(c.X1, c.X2);
        if (mode == OpteeArgMode.Registered)
        {
            if (!buffers.TryGetValue(where, out var shm) || shm.Kind != OpteeShmKind.Registered) return OpteeSmc.ReturnEBadAddr;
            call.ArgShm = shm;
            call.GuestArg = (uint)c.X3;
        }
        else
        {
            call.ArgShm = null;
            call.GuestArg = where;
        }
        // struct optee_msg_arg is made of 64-bit words.
        if ((call.GuestArg & 7) != 0) return OpteeSmc.ReturnEBadAddr;
        var original = call.Original.AsSpan();
        if (!ReadArg(call, 0, original[..OpteeMsg.HeaderSize])) return OpteeSmc.ReturnEBadAddr;
        var header = new MsgArg(original);
        uint count = header.NumParams;
        if (count > (uint)limits.MaxParams)
        {
            header.Fail(TeeResult.ErrorBadParameters);
            refused = true;
            return OpteeSmc.ReturnOk;
        }
        call.NumParams = (int)count;
        int argSize = call.ArgSize;
        if (!ReadArg(call, OpteeMsg.HeaderSize, original[OpteeMsg.HeaderSize..argSize])) return OpteeSmc.ReturnEBadAddr;
        int rpcSize = mode == OpteeArgMode.WithArg ? 0 : OpteeMsg.ArgSize(rpcParamCount);
        // The RPC argument after the call's own must be the guest's memory too: the mediator writes it.
        if (rpcSize > 0 && !ArgFits(call, argSize, rpcSize)) return OpteeSmc.ReturnEBadAddr;

        call.Cmd = header.Cmd;
        if (call.Cmd is not (OpteeMsg.CmdOpenSession or OpteeMsg.CmdInvokeCommand or OpteeMsg.CmdCloseSession or OpteeMsg.CmdCancel
            or OpteeMsg.CmdRegisterShm or OpteeMsg.CmdUnregisterShm))
            return OpteeSmc.ReturnEBadCmd;

        var shadow = call.Shadow ??= pool.Rent();
        if (shadow is null) return OpteeSmc.ReturnENoMem;
        var bytes = shadow.Bytes;
        original[..argSize].CopyTo(bytes);
        bytes.Slice(argSize, rpcSize).Clear();
        uint translated = TranslateParams(call, new MsgArg(bytes));
        if (translated != TeeResult.Success)
        {
            header.Fail(translated);
            refused = true;
        }
        return OpteeSmc.ReturnOk;
    }

    /// <summary>
    /// Rewrites the shadow's parameters so that the secure world sees machine addresses of the domain's own pages
    /// only; returns a TEE result (BAD_PARAMETERS, OUT_OF_MEMORY) for what cannot be passed on.
    /// </summary>
    private uint TranslateParams(OpteeCall call, MsgArg arg)
    {
        int temporaries = 0;
        for (int i = 0; i < call.NumParams; i++)
        {
            ulong attr = arg.Attr(i);
            switch ((uint)(attr & OpteeMsg.AttrTypeMask))
            {
                case OpteeMsg.AttrTypeNone:
                case OpteeMsg.AttrTypeValueInput or OpteeMsg.AttrTypeValueOutput or OpteeMsg.AttrTypeValueInout:
                    break;
                case OpteeMsg.AttrTypeTmemInput or OpteeMsg.AttrTypeTmemOutput or OpteeMsg.AttrTypeTmemInout:
                {
                    if ((attr & OpteeMsg.AttrNoncontig) == 0)
                    {
                        // Only the null reference: a contiguous buffer by physical address is the reserved
                        // shared memory's way, which a guest does not have (Xen refuses "old tmem" too).
                        if (arg.Word(i, 0) == 0) break;
                        return TeeResult.ErrorBadParameters;
                    }
                    OpteeShmBuffer buffer;
                    int maxPages = limits.MaxBufferPages;
                    if (call.Cmd == OpteeMsg.CmdRegisterShm)
                    {
                        ulong cookie = arg.Word(i, 2);
                        if (i != 0 || call.NumParams != 1 || buffers.ContainsKey(cookie)) return TeeResult.ErrorBadParameters;
                        if (buffers.Count >= limits.MaxSharedBuffers) return TeeResult.ErrorOutOfMemory;
                        maxPages = Math.Min(maxPages, limits.MaxSharedPages - sharedPages);
                        buffer = call.Registering = RentBuffer(OpteeShmKind.Registered, cookie);
                    }
                    else buffer = call.Temporaries[temporaries++];
                    uint result = TranslatePages(call, buffer, arg.Word(i, 0), arg.Word(i, 1), maxPages, contiguous: false, out ulong list);
                    if (result != TeeResult.Success) return result;
                    arg.SetWord(i, 0, list);
                    break;
                }
                case OpteeMsg.AttrTypeRmemInput or OpteeMsg.AttrTypeRmemOutput or OpteeMsg.AttrTypeRmemInout:
                    // A cookie is only ever the guest's own: the OS keeps them per client, and so does the mediator.
                    if (!buffers.TryGetValue(arg.Word(i, 2), out var shm)) return TeeResult.ErrorBadParameters;
                    if (call.Cmd == OpteeMsg.CmdUnregisterShm && InUseAsArg(shm)) return TeeResult.ErrorBusy;
                    break;
                default:
                    return TeeResult.ErrorBadParameters;
            }
        }
        // Session IDs are per domain: one this domain never opened is unknown, whoever's it is.
        if (call.Cmd is OpteeMsg.CmdInvokeCommand or OpteeMsg.CmdCloseSession or OpteeMsg.CmdCancel && !sessions.Contains(arg.Session))
            return TeeResult.ErrorBadParameters;
        return TeeResult.Success;
    }

    private bool InUseAsArg(OpteeShmBuffer shm)
    {
        foreach (var call in calls)
            if (call.UsesShm(shm) && call.State == OpteeCallState.WaitRpc) return true;
        return false;
    }

    /// <summary>
    /// Reads the guest's page list at <paramref name="bufPtr"/> (OPTEE_MSG_ATTR_NONCONTIG: per 4 KiB list page, 511
    /// page addresses and the next list page's; the low 12 bits the data's offset in the first page), or takes
    /// the pages of a contiguous buffer at it, checks every page (and every list page) to be the domain's own
    /// RAM, and writes the same list with machine addresses into shadow pages lent for this SMC.
    /// </summary>
    private uint TranslatePages(OpteeCall call, OpteeShmBuffer buffer, ulong bufPtr, ulong size, int maxPages, bool contiguous, out ulong list)
    {
        list = 0;
        uint offset = (uint)(bufPtr & PageMask);
        ulong at = bufPtr & ~PageMask;
        if (size == 0 || size > ulong.MaxValue - PageMask - offset) return TeeResult.ErrorBadParameters;
        ulong needed = (offset + size + PageMask) >> 12;
        if (needed > (ulong)Math.Max(maxPages, 0)) return TeeResult.ErrorOutOfMemory;
        int count = (int)needed;
        var pages = buffer.Reset(count);
        buffer.Size = size;
        buffer.FirstPageOffset = offset;

        var guestList = scratch.AsSpan(0, OpteeMsg.NoncontigPageSize);
        ShadowPage? previous = null;
        int done = 0;
        while (done < count)
        {
            if (!contiguous && !ReadGuest(at, guestList)) return TeeResult.ErrorBadParameters;
            var shadow = Borrow(call);
            if (shadow is null) return TeeResult.ErrorOutOfMemory;
            if (previous is null) list = shadow.Machine | offset;
            else WriteEntry(previous.Bytes, OpteeMsg.PageListEntries, shadow.Machine);
            var entries = shadow.Bytes;
            int inThisList = Math.Min(OpteeMsg.PageListEntries, count - done);
            for (int e = 0; e < inThisList; e++)
            {
                ulong page = contiguous ? at + ((ulong)done << 12) : ReadEntry(guestList, e);
                if ((page & PageMask) != 0 || !ram.TryTranslate(page, out ulong machine)) return TeeResult.ErrorBadParameters;
                pages[done++] = page;
                WriteEntry(entries, e, machine);
            }
            previous = shadow;
            if (!contiguous && done < count)
            {
                at = ReadEntry(guestList, OpteeMsg.PageListEntries);
                if ((at & PageMask) != 0) return TeeResult.ErrorBadParameters;
            }
        }
        return TeeResult.Success;
    }

    private static ulong ReadEntry(ReadOnlySpan<byte> list, int index) => BinaryPrimitives.ReadUInt64LittleEndian(list[(index * 8)..]);

    private static void WriteEntry(Span<byte> list, int index, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(list[(index * 8)..], value);

    private ShadowPage? Borrow(OpteeCall call)
    {
        var page = pool.Rent();
        if (page is not null) call.Borrowed.Add(page);
        return page;
    }

    private void ReturnBorrowed(OpteeCall call)
    {
        foreach (var page in call.Borrowed) pool.Return(page);
        call.Borrowed.Clear();
    }

    /// <summary>
    /// Makes the SMC and follows it: an RPC the guest must answer goes back to it (the call waits); one the mediator
    /// answers itself (a failure it can see) resumes at once; a completed call copies its results back.
    /// </summary>
    private void Run(OpteeCall call, SecureCall smc, ref SmcccCall c)
    {
        while (true)
        {
            monitor.Smc(ref smc);
            // The OS has read every page list it was given in this SMC.
            ReturnBorrowed(call);
            uint a0 = (uint)smc.A0;
            if (!OpteeSmc.IsRpc(a0))
            {
                Complete(call, a0, ref c);
                return;
            }
            call.State = OpteeCallState.WaitRpc;
            call.RpcFunction = a0 & 0xFFFF;
            call.RpcA1 = (uint)smc.A1;
            call.RpcA2 = (uint)smc.A2;
            call.ThreadId = (uint)smc.A3;
            if (DeliverRpc(call))
            {
                c.Return(a0, (uint)smc.A1, (uint)smc.A2, (uint)smc.A3);
                return;
            }
            call.State = OpteeCallState.Running;
            smc = Resumption(call);
        }
    }

    private SecureCall Resumption(OpteeCall call) =>
        new(OpteeSmc.ReturnFromRpc, clientId) { A1 = call.RpcA1, A2 = call.RpcA2, A3 = call.ThreadId };

    /// <summary>The call is over: its results go back into the guest's struct, field by field, and the domain's records follow.</summary>
    private void Complete(OpteeCall call, uint status, ref SmcccCall c)
    {
        if (status == OpteeSmc.ReturnOk)
        {
            var result = new MsgArg(call.Shadow!.Bytes);
            var original = new MsgArg(call.Original);
            original.Ret = result.Ret;
            original.RetOrigin = result.RetOrigin;
            if (call.Cmd == OpteeMsg.CmdOpenSession) original.Session = result.Session;
            for (int i = 0; i < call.NumParams; i++)
            {
                switch ((uint)(original.Attr(i) & OpteeMsg.AttrTypeMask))
                {
                    case OpteeMsg.AttrTypeValueOutput or OpteeMsg.AttrTypeValueInout:
                        for (int w = 0; w < 3; w++) original.SetWord(i, w, result.Word(i, w));
                        break;
                    case OpteeMsg.AttrTypeTmemOutput or OpteeMsg.AttrTypeTmemInout or OpteeMsg.AttrTypeRmemOutput or OpteeMsg.AttrTypeRmemInout:
                        original.SetWord(i, 1, result.Word(i, 1));
                        break;
                }
            }
            WriteArg(call, 0, call.Original.AsSpan(0, call.ArgSize));
            if (result.Ret == TeeResult.Success) Completed(call, original);
            c.Return(OpteeSmc.ReturnOk, 0, 0, 0);
        }
        else c.Return(status);
        Release(call);
    }

    /// <summary>What a successful command changes in the domain's records.</summary>
    private void Completed(OpteeCall call, MsgArg arg)
    {
        switch (call.Cmd)
        {
            case OpteeMsg.CmdOpenSession:
                sessions.Add(arg.Session);
                break;
            case OpteeMsg.CmdCloseSession:
                sessions.Remove(arg.Session);
                break;
            case OpteeMsg.CmdRegisterShm when call.Registering is { } registered:
                Commit(registered);
                call.Registering = null;
                break;
            case OpteeMsg.CmdUnregisterShm:
                ReleaseBuffer(arg.Word(0, 2), OpteeShmKind.Registered);
                break;
        }
    }

    private void Release(OpteeCall call)
    {
        if (call.Registering is { } pending)
        {
            ReturnBuffer(pending);
            call.Registering = null;
        }
        call.ArgShm = null;
        call.State = OpteeCallState.Free;
    }

    private OpteeShmBuffer RentBuffer(OpteeShmKind kind, ulong cookie)
    {
        var buffer = spareBuffers.TryPop(out var spare) ? spare : new OpteeShmBuffer();
        buffer.Kind = kind;
        buffer.Cookie = cookie;
        return buffer;
    }

    private void ReturnBuffer(OpteeShmBuffer buffer)
    {
        buffer.Clear();
        spareBuffers.Push(buffer);
    }

    private void Commit(OpteeShmBuffer buffer)
    {
        buffers.Add(buffer.Cookie, buffer);
        sharedPages += buffer.PageCount;
    }

    private void ReleaseBuffer(ulong cookie, OpteeShmKind kind)
    {
        if (!buffers.TryGetValue(cookie, out var buffer) || buffer.Kind != kind) return;
        buffers.Remove(cookie);
        sharedPages -= buffer.PageCount;
        ReturnBuffer(buffer);
    }

    // The guest's memory, every page of it checked to be its own RAM before it is touched.
    private bool ReadGuest(ulong ipa, Span<byte> destination) =>
        ram.IsOwnRam(ipa, (ulong)destination.Length) && guest.Read(ipa, destination) == GuestMemoryStatus.Ok;

    private bool WriteGuest(ulong ipa, ReadOnlySpan<byte> source) =>
        ram.IsOwnRam(ipa, (ulong)source.Length) && guest.Write(ipa, source) == GuestMemoryStatus.Ok;

    /// <summary>Reads from the guest's argument struct (at an IPA, or in registered shared memory) at <paramref name="offset"/>.</summary>
    private bool ReadArg(OpteeCall call, int offset, Span<byte> destination)
    {
        if (call.ArgShm is null) return call.GuestArg <= ulong.MaxValue - (ulong)offset && ReadGuest(call.GuestArg + (ulong)offset, destination);
        ulong at = call.GuestArg + (ulong)offset;
        var shm = call.ArgShm;
        if (!ArgFits(call, offset, destination.Length)) return false;
        while (!destination.IsEmpty)
        {
            shm.Locate(at, out ulong ipa, out int inPage);
            int chunk = Math.Min(inPage, destination.Length);
            if (!ReadGuest(ipa, destination[..chunk])) return false;
            destination = destination[chunk..];
            at += (ulong)chunk;
        }
        return true;
    }

    private bool WriteArg(OpteeCall call, int offset, ReadOnlySpan<byte> source)
    {
        if (call.ArgShm is null) return call.GuestArg <= ulong.MaxValue - (ulong)offset && WriteGuest(call.GuestArg + (ulong)offset, source);
        ulong at = call.GuestArg + (ulong)offset;
        var shm = call.ArgShm;
        if (!ArgFits(call, offset, source.Length)) return false;
        while (!source.IsEmpty)
        {
            shm.Locate(at, out ulong ipa, out int inPage);
            int chunk = Math.Min(inPage, source.Length);
            if (!WriteGuest(ipa, source[..chunk])) return false;
            source = source[chunk..];
            at += (ulong)chunk;
        }
        return true;
    }

    /// <summary>Whether <paramref name="length"/> bytes at <paramref name="offset"/> of the guest's argument are its memory.</summary>
    private bool ArgFits(OpteeCall call, int offset, int length)
    {
        if (call.GuestArg > ulong.MaxValue - (ulong)offset) return false;
        ulong at = call.GuestArg + (ulong)offset;
        if (call.ArgShm is { } shm) return at <= shm.Size && (ulong)length <= shm.Size - at;
        return ram.IsOwnRam(at, (ulong)length);
    }
}
