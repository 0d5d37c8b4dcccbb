using Jit.Hypervisor.Smccc;
using Jit.SecureWorld;
using Jit.SecureWorld.Optee;

namespace Jit.Hypervisor.Tee;

public sealed partial class OpteeMediator
{
    /// <summary>
    /// The secure world returned an RPC: true when it goes to the guest (with the RPC argument copied out to the
    /// guest's buffer), false when the mediator answered it itself and the call resumes at once.
    /// </summary>
    private bool DeliverRpc(OpteeCall call)
    {
        switch (call.RpcFunction)
        {
            case OpteeSmc.RpcFuncAlloc:
            case OpteeSmc.RpcFuncForeignIntr:
                return true;
            case OpteeSmc.RpcFuncFree:
                ReleaseRpcArg(OpteeSmc.Pair(call.RpcA1, call.RpcA2));
                return true;
            case OpteeSmc.RpcFuncCmd:
            {
                var rpcArg = FindRpcArg(call);
                var shadow = RpcShadow(call, rpcArg);
                if (shadow.IsEmpty) return false;
                var request = new MsgArg(shadow);
                uint count = request.NumParams;
                if (count > (uint)RpcCapacity(shadow))
                {
                    request.Fail(TeeResult.ErrorBadParameters);
                    return false;
                }
                if (!WriteRpcArg(call, rpcArg, shadow[..OpteeMsg.ArgSize((int)count)]))
                {
                    // The guest's RPC buffer is not its memory any more: it cannot answer, so the call learns so now.
                    request.Fail(TeeResult.ErrorCommunication);
                    return false;
                }
                return true;
            }
            default:
                // An RPC this mediator does not know carries nothing it could check: resume at once.
                return false;
        }
    }

    /// <summary>RETURN_FROM_RPC: the guest answered the RPC of the call at thread a3; its answer is checked and the call goes on.</summary>
    private void ReturnFromRpc(ref SmcccCall c)
    {
        lock (gate)
        {
            if (!Live)
            {
                c.Return(OpteeSmc.ReturnENotAvail);
                return;
            }
            OpteeCall? call = null;
            foreach (var candidate in calls)
            {
                if (candidate.State == OpteeCallState.WaitRpc && candidate.ThreadId == (uint)c.X3)
                {
                    call = candidate;
                    break;
                }
            }
            if (call is null)
            {
                // No call of this domain waits there: not the domain's to resume (another's thread, or none).
                c.Return(OpteeSmc.ReturnEResume);
                return;
            }
            var smc = Resumption(call);
            switch (call.RpcFunction)
            {
                case OpteeSmc.RpcFuncAlloc:
                    ulong cookie = OpteeSmc.Pair(c.X4, c.X5);
                    ulong machine = AcceptRpcArg(call, OpteeSmc.Pair(c.X1, c.X2), cookie);
                    smc.A1 = machine >> 32;
                    smc.A2 = (uint)machine;
                    smc.A4 = machine == 0 ? 0 : cookie >> 32;
                    smc.A5 = machine == 0 ? 0 : (uint)cookie;
                    break;
                case OpteeSmc.RpcFuncCmd:
                    TakeRpcAnswer(call);
                    break;
            }
            call.State = OpteeCallState.Running;
            Run(call, smc, ref c);
        }
    }

    /// <summary>
    /// The guest's answer to RPC_FUNC_ALLOC: a buffer at <paramref name="ipa"/> that must be its own RAM. The OS gets
    /// the machine address of a shadow instead, or 0 (allocation failed) for anything else.
    /// </summary>
    private ulong AcceptRpcArg(OpteeCall call, ulong ipa, ulong cookie)
    {
        int size = (int)Math.Min(call.RpcA1, ShadowPage.Size + 1UL);
        if (ipa == 0 || (ipa & 7) != 0 || size is 0 or > ShadowPage.Size || !ram.IsOwnRam(ipa, (ulong)size)) return 0;
        RpcArgBuffer? slot = null;
        foreach (var r in rpcArgs)
        {
            if (r.InUse && r.Cookie == cookie) return 0;
            if (!r.InUse) slot ??= r;
        }
        if (slot is null) return 0;
        var shadow = slot.Shadow ??= pool.Rent();
        if (shadow is null) return 0;
        shadow.Bytes[..size].Clear();
        slot.InUse = true;
        slot.Cookie = cookie;
        slot.GuestIpa = ipa;
        slot.Size = size;
        return shadow.Machine;
    }

    private void ReleaseRpcArg(ulong cookie)
    {
        foreach (var r in rpcArgs)
            if (r.InUse && r.Cookie == cookie) r.InUse = false;
    }

    /// <summary>The RPC_FUNC_ALLOC buffer an RPC_CMD of a CALL_WITH_ARG call names by its cookie; null for the inline RPC argument.</summary>
    private RpcArgBuffer? FindRpcArg(OpteeCall call)
    {
        if (call.Mode != OpteeArgMode.WithArg) return null;
        ulong cookie = OpteeSmc.Pair(call.RpcA1, call.RpcA2);
        foreach (var r in rpcArgs)
            if (r.InUse && r.Cookie == cookie) return r;
        return null;
    }

    /// <summary>Where the OS wrote the RPC argument: after the call's own in its shadow, or in the RPC buffer's shadow; empty if nowhere.</summary>
    private Span<byte> RpcShadow(OpteeCall call, RpcArgBuffer? rpcArg)
    {
        if (call.Mode != OpteeArgMode.WithArg) return call.Shadow!.Bytes.Slice(call.ArgSize, OpteeMsg.ArgSize(rpcParamCount));
        return rpcArg?.Shadow is { } shadow ? shadow.Bytes[..rpcArg.Size] : [];
    }

    private static int RpcCapacity(Span<byte> rpcShadow) => (rpcShadow.Length - OpteeMsg.HeaderSize) / OpteeMsg.ParamSize;

    private bool WriteRpcArg(OpteeCall call, RpcArgBuffer? rpcArg, ReadOnlySpan<byte> source) =>
        rpcArg is null ? WriteArg(call, call.ArgSize, source) : WriteGuest(rpcArg.GuestIpa, source);

    private bool ReadRpcArg(OpteeCall call, RpcArgBuffer? rpcArg, Span<byte> destination) =>
        rpcArg is null ? ReadArg(call, call.ArgSize, destination) : ReadGuest(rpcArg.GuestIpa, destination);

    /// <summary>
    /// Copies the guest's answer to an RPC command back into the shadow: ret, ret_origin and the parameters, with
    /// values and cookies as they are, an SHM_ALLOC'd buffer translated, and any other memory reference dropped.
    /// </summary>
    private void TakeRpcAnswer(OpteeCall call)
    {
        var rpcArg = FindRpcArg(call);
        var shadow = RpcShadow(call, rpcArg);
        if (shadow.IsEmpty) return;
        var request = new MsgArg(shadow);
        uint command = request.Cmd;
        int count = (int)request.NumParams;
        if (count > RpcCapacity(shadow))
        {
            request.Fail(TeeResult.ErrorBadParameters);
            return;
        }
        ulong freed = command == OpteeMsg.RpcCmdShmFree && count > 0 ? request.Word(0, 1) : 0;
        var bytes = scratch.AsSpan(0, OpteeMsg.ArgSize(count));
        if (!ReadRpcArg(call, rpcArg, bytes))
        {
            request.Fail(TeeResult.ErrorCommunication);
            return;
        }
        var answer = new MsgArg(bytes);
        if (answer.NumParams != count)
        {
            request.Fail(TeeResult.ErrorBadParameters);
            return;
        }
        request.Ret = answer.Ret;
        request.RetOrigin = answer.RetOrigin;
        for (int i = 0; i < count; i++)
        {
            if (command == OpteeMsg.RpcCmdShmAlloc && i == 0)
            {
                AcceptShmAlloc(call, request, answer);
                continue;
            }
            ulong attr = answer.Attr(i);
            switch ((uint)(attr & OpteeMsg.AttrTypeMask))
            {
                case OpteeMsg.AttrTypeValueInput or OpteeMsg.AttrTypeValueOutput or OpteeMsg.AttrTypeValueInout:
                case OpteeMsg.AttrTypeRmemInput or OpteeMsg.AttrTypeRmemOutput or OpteeMsg.AttrTypeRmemInout:
                    request.SetAttr(i, attr);
                    for (int w = 0; w < 3; w++) request.SetWord(i, w, answer.Word(i, w));
                    break;
                default:
                    request.SetAttr(i, OpteeMsg.AttrTypeNone);
                    for (int w = 0; w < 3; w++) request.SetWord(i, w, 0);
                    break;
            }
        }
        if (command == OpteeMsg.RpcCmdShmFree) ReleaseBuffer(freed, OpteeShmKind.RpcAllocated);
    }

    /// <summary>
    /// The buffer the guest allocated for an SHM_ALLOC, as a page list or contiguous: translated into a shadow page
    /// list the OS reads in the resuming SMC. Anything unusable becomes a null buffer under the guest's cookie,
    /// which the OS refuses and then asks the guest to free.
    /// </summary>
    private void AcceptShmAlloc(OpteeCall call, MsgArg request, MsgArg answer)
    {
        ulong attr = answer.Attr(0), bufPtr = answer.Word(0, 0), size = answer.Word(0, 1), cookie = answer.Word(0, 2);
        request.SetAttr(0, OpteeMsg.AttrTypeTmemOutput);
        request.SetWord(0, 0, 0);
        request.SetWord(0, 1, size);
        request.SetWord(0, 2, cookie);
        const ulong allowed = OpteeMsg.AttrTypeMask | OpteeMsg.AttrNoncontig | OpteeMsg.AttrCacheMask << OpteeMsg.AttrCacheShift;
        if (answer.Ret != TeeResult.Success || (attr & OpteeMsg.AttrTypeMask) != OpteeMsg.AttrTypeTmemOutput || (attr & ~allowed) != 0)
            return;
        if (buffers.ContainsKey(cookie) || buffers.Count >= limits.MaxSharedBuffers) return;
        var buffer = RentBuffer(OpteeShmKind.RpcAllocated, cookie);
        int maxPages = Math.Min(limits.MaxBufferPages, limits.MaxSharedPages - sharedPages);
        bool contiguous = (attr & OpteeMsg.AttrNoncontig) == 0;
        if (TranslatePages(call, buffer, bufPtr, size, maxPages, contiguous, out ulong list) != TeeResult.Success)
        {
            ReturnBuffer(buffer);
            return;
        }
        Commit(buffer);
        request.SetAttr(0, OpteeMsg.AttrTypeTmemOutput | OpteeMsg.AttrNoncontig | (attr & OpteeMsg.AttrCacheMask << OpteeMsg.AttrCacheShift));
        request.SetWord(0, 0, list);
    }
}
