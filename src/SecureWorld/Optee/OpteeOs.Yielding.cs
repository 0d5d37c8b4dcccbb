namespace Jit.SecureWorld.Optee;

public sealed partial class OpteeOs
{
    private enum ArgMode
    {
        /// <summary>CALL_WITH_ARG: the RPC argument, when needed, comes from RPC_FUNC_ALLOC.</summary>
        Physical,
        /// <summary>CALL_WITH_RPC_ARG: the RPC argument follows the call's own, both at a machine address.</summary>
        PhysicalWithRpcArg,
        /// <summary>CALL_WITH_REGD_ARG: both in registered shared memory, by cookie and offset.</summary>
        Registered,
    }

    private void Yielding(ref SecureCall call)
    {
        uint fid = call.FunctionId;
        if (fid is not (OpteeSmc.CallWithArg or OpteeSmc.CallWithRpcArg or OpteeSmc.CallWithRegdArg or OpteeSmc.ReturnFromRpc))
        {
            unknown.Report(fid, "OPTEE_SMC_RETURN_UNKNOWN_FUNCTION");
            call.ReturnStatus(SmcccStatus.NotSupported);
            return;
        }
        // The hypervisor has no sessions of its own, and an unknown guest has nothing at all.
        if (Find(call.ClientId) is not { } client)
        {
            call.Return32Only(OpteeSmc.ReturnENotAvail);
            return;
        }
        lock (client.Gate)
        {
            if (client.Destroyed) call.Return32Only(OpteeSmc.ReturnENotAvail);
            else if (fid == OpteeSmc.ReturnFromRpc) Resume(client, ref call);
            else Start(client, ref call, fid switch
            {
                OpteeSmc.CallWithArg => ArgMode.Physical,
                OpteeSmc.CallWithRpcArg => ArgMode.PhysicalWithRpcArg,
                _ => ArgMode.Registered,
            });
        }
    }

    private void Start(OpteeClient client, ref SecureCall call, ArgMode mode)
    {
        var thread = client.FreeThread();
        if (thread is null)
        {
            // a1–a3 preserved: Linux waits for another call to finish and issues the same SMC again.
            call.Return32Only(OpteeSmc.ReturnEThreadLimit);
            return;
        }
        uint status = LoadArg(client, thread, in call, mode);
        if (status != OpteeSmc.ReturnOk)
        {
            thread.Release();
            call.Return32(status);
            return;
        }
        thread.State = ThreadState.Running;
        Begin(client, thread);
        Run(client, thread, ref call);
    }

    /// <summary>Finds the argument struct, checks it lies where the client may share memory, and copies it in.</summary>
    private uint LoadArg(OpteeClient client, OpteeThread thread, in SecureCall call, ArgMode mode)
    {
        ulong where = OpteeSmc.Pair(call.A1, call.A2);
        if (mode == ArgMode.Registered)
        {
            if (!client.SharedMemory.TryGetValue(where, out var shm)) return OpteeSmc.ReturnEBadAddr;
            thread.Arg = new ArgLocation(shm, (uint)call.A3);
        }
        else thread.Arg = new ArgLocation(null, where);

        // struct optee_msg_arg is made of 64-bit words; OP-TEE refuses a misaligned one.
        if ((thread.Arg.At & 7) != 0) return OpteeSmc.ReturnEBadAddr;
        if (!Fits(thread.Arg, OpteeMsg.HeaderSize)) return OpteeSmc.ReturnEBadAddr;
        var bytes = thread.ArgBytes.AsSpan();
        if (thread.Arg.Read(memory, 0, bytes[..OpteeMsg.HeaderSize]) != MemoryStatus.Ok) return OpteeSmc.ReturnEBadAddr;

        uint numParams = new MsgArg(bytes).NumParams;
        if (numParams > OpteeThread.MaxArgParams)
        {
            // The header is readable, so the refusal can be written there (TEE_ERROR_BAD_PARAMETERS in Begin).
            thread.ArgLength = OpteeMsg.HeaderSize;
            return OpteeSmc.ReturnOk;
        }
        int length = OpteeMsg.ArgSize((int)numParams);
        if (!Fits(thread.Arg, length)) return OpteeSmc.ReturnEBadAddr;
        if (thread.Arg.Read(memory, OpteeMsg.HeaderSize, bytes[OpteeMsg.HeaderSize..length]) != MemoryStatus.Ok)
            return OpteeSmc.ReturnEBadAddr;
        thread.ArgLength = length;

        thread.InlineRpcArg = mode != ArgMode.Physical;
        if (thread.InlineRpcArg)
        {
            thread.RpcArg = thread.Arg with { At = thread.Arg.At + (ulong)length };
            if (!Fits(thread.RpcArg, thread.RpcArgSize)) return OpteeSmc.ReturnEBadAddr;
        }
        return OpteeSmc.ReturnOk;
    }

    /// <summary>Whether <paramref name="length"/> bytes at <paramref name="location"/> are memory the client may share.</summary>
    private bool Fits(ArgLocation location, int length)
    {
        ulong at = location.At, size = (ulong)length;
        if (location.Shm is { } shm) return at <= shm.Size && size <= shm.Size - at;
        return at <= ulong.MaxValue - size && memory.Check(at, size) == MemoryStatus.Ok;
    }

    /// <summary>
    /// Runs <paramref name="thread"/>'s call as far as it goes without the normal world: to an RPC (the thread
    /// waits, the SMC returns the RPC code with the thread index in a3) or to its end (the SMC returns its status).
    /// </summary>
    private void Run(OpteeClient client, OpteeThread thread, ref SecureCall call)
    {
        var invocation = thread.Invocation;
        while (true)
        {
            switch (thread.Phase)
            {
                case CallPhase.RunTa:
                    var ta = thread.Session!.Application;
                    var result = thread.OpeningSession ? ta.OpenSession(invocation) : ta.Invoke(invocation);
                    if (result.Suspended)
                    {
                        if (!invocation.Request.Pending) throw new InvalidOperationException($"{ta.Name} suspended without an RPC request");
                        thread.AfterRpc = CallPhase.RunTa;
                        thread.Phase = CallPhase.SendRpc;
                        break;
                    }
                    EndTaCall(client, thread, result.Result);
                    if (invocation.Allocation.Held)
                    {
                        // The TA kept an RPC buffer: give it back before the call returns, as OP-TEE frees a TA's leftovers.
                        invocation.Request = new RpcRequest(OpteeMsg.RpcCmdShmFree, invocation.Allocation.Type, invocation.Allocation.Cookie);
                        thread.AfterRpc = CallPhase.Finish;
                        thread.Phase = CallPhase.SendRpc;
                        break;
                    }
                    thread.Phase = CallPhase.Finish;
                    break;

                case CallPhase.SendRpc:
                    if (!thread.InlineRpcArg && !thread.HasRpcArgBuffer)
                    {
                        thread.State = ThreadState.WaitRpcAlloc;
                        call.Return32(OpteeSmc.ReturnRpcAlloc, (uint)thread.RpcArgSize, 0, (uint)thread.Index);
                        return;
                    }
                    if (thread.RpcArgUnusable || !WriteRpcRequest(thread))
                    {
                        RpcFailed(thread, TeeResult.ErrorCommunication);
                        thread.Phase = thread.AfterRpc;
                        break;
                    }
                    thread.State = ThreadState.WaitRpcCmd;
                    ulong cookie = thread.InlineRpcArg ? 0 : thread.RpcArgCookie;
                    call.Return32(OpteeSmc.ReturnRpcCmd, (uint)(cookie >> 32), (uint)cookie, (uint)thread.Index);
                    return;

                case CallPhase.Finish:
                    if (thread.WriteBack && thread.Arg.Write(memory, 0, thread.ArgBytes.AsSpan(0, thread.ArgLength)) != MemoryStatus.Ok)
                    {
                        // The client cannot learn the outcome: undo a session it would never know of.
                        if (thread.OpeningSession && thread.Session is { } opened && client.Sessions.Remove(opened.Id))
                            opened.Application.CloseSession(opened.Context);
                        thread.SmcStatus = OpteeSmc.ReturnEBadAddr;
                    }
                    thread.Phase = CallPhase.Complete;
                    if (thread.HasRpcArgBuffer && (!client.ShmCacheEnabled || thread.RpcArgUnusable))
                    {
                        thread.State = ThreadState.WaitRpcFree;
                        ulong buffer = thread.RpcArgCookie;
                        call.Return32(OpteeSmc.ReturnRpcFree, (uint)(buffer >> 32), (uint)buffer, (uint)thread.Index);
                        return;
                    }
                    break;

                case CallPhase.Complete:
                    uint status = thread.SmcStatus;
                    thread.Release();
                    call.Return32(status);
                    return;
            }
        }
    }

    private void Resume(OpteeClient client, ref SecureCall call)
    {
        uint index = (uint)call.A3;
        var thread = index < (uint)client.Threads.Length ? client.Threads[index] : null;
        switch (thread?.State)
        {
            case ThreadState.WaitRpcAlloc:
                ulong address = OpteeSmc.Pair(call.A1, call.A2), cookie = OpteeSmc.Pair(call.A4, call.A5);
                if (address == 0)
                {
                    RpcFailed(thread, TeeResult.ErrorOutOfMemory);
                    thread.Phase = thread.AfterRpc;
                    break;
                }
                thread.HasRpcArgBuffer = true;
                thread.RpcArgAddress = address;
                thread.RpcArgCookie = cookie;
                thread.RpcArgUnusable = (address & 7) != 0 || address > ulong.MaxValue - (ulong)thread.RpcArgSize
                    || memory.Check(address, (ulong)thread.RpcArgSize) != MemoryStatus.Ok;
                thread.Phase = CallPhase.SendRpc;
                break;
            case ThreadState.WaitRpcCmd:
                ReadRpcAnswer(client, thread);
                thread.Phase = thread.AfterRpc;
                break;
            case ThreadState.WaitRpcFree:
                thread.HasRpcArgBuffer = false;
                thread.RpcArgUnusable = false;
                thread.Phase = CallPhase.Complete;
                break;
            default:
                // No call of this client waits at that index: the resume information is not ours.
                call.Return32Only(OpteeSmc.ReturnEResume);
                return;
        }
        thread.State = ThreadState.Running;
        Run(client, thread, ref call);
    }

    /// <summary>Writes the pending request as an RPC struct optee_msg_arg where the normal world expects it.</summary>
    private bool WriteRpcRequest(OpteeThread thread)
    {
        var request = thread.Invocation.Request;
        var rpc = new MsgArg(thread.RpcBytes);
        int length = OpteeMsg.ArgSize(1);
        rpc.Clear(length);
        rpc.Cmd = request.Command;
        rpc.NumParams = 1;
        rpc.SetAttr(0, OpteeMsg.AttrTypeValueInput);
        rpc.SetWord(0, 0, request.Type);
        rpc.SetWord(0, 1, request.Argument);
        if (request.Command == OpteeMsg.RpcCmdShmAlloc) rpc.SetWord(0, 2, 8);
        return RpcLocation(thread).Write(memory, 0, thread.RpcBytes.AsSpan(0, length)) == MemoryStatus.Ok;
    }

    private static ArgLocation RpcLocation(OpteeThread thread) =>
        thread.InlineRpcArg ? thread.RpcArg : new ArgLocation(null, thread.RpcArgAddress);

    private void ReadRpcAnswer(OpteeClient client, OpteeThread thread)
    {
        var invocation = thread.Invocation;
        var request = invocation.Request;
        var rpc = new MsgArg(thread.RpcBytes);
        if (RpcLocation(thread).Read(memory, 0, thread.RpcBytes.AsSpan(0, OpteeMsg.ArgSize(1))) != MemoryStatus.Ok)
        {
            RpcFailed(thread, TeeResult.ErrorCommunication);
            return;
        }
        uint ret = rpc.Ret;
        if (request.Command == OpteeMsg.RpcCmdShmFree || ret != TeeResult.Success)
        {
            RpcFailed(thread, ret);
            invocation.RpcResult = ret;
            return;
        }
        invocation.Request = default;
        // The driver allocated something: whatever is wrong with it, it must be freed again.
        ulong attr = rpc.Attr(0), bufPtr = rpc.Word(0, 0), size = rpc.Word(0, 1), cookie = rpc.Word(0, 2);
        invocation.Allocation = new RpcAllocation(true, request.Type, cookie);
        ulong wanted = request.Argument;
        const ulong allowed = OpteeMsg.AttrTypeMask | OpteeMsg.AttrNoncontig | OpteeMsg.AttrCacheMask << OpteeMsg.AttrCacheShift;
        bool usable = (attr & OpteeMsg.AttrTypeMask) == OpteeMsg.AttrTypeTmemOutput && (attr & ~allowed) == 0 && size >= wanted;
        var buffer = default(SharedBuffer);
        if (usable && (attr & OpteeMsg.AttrNoncontig) != 0)
        {
            usable = thread.RpcPages.Load(memory, bufPtr, size, cookie, options.MaxTemporaryPages, client.PageListScratch)
                == TeeResult.Success;
            if (usable) buffer = SharedBuffer.Registered(memory, thread.RpcPages, 0, wanted);
        }
        else if (usable)
        {
            usable = bufPtr != 0 && bufPtr <= ulong.MaxValue - wanted && memory.Check(bufPtr, wanted) == MemoryStatus.Ok;
            if (usable) buffer = SharedBuffer.Contiguous(memory, bufPtr, wanted);
        }
        invocation.RpcResult = usable ? TeeResult.Success : TeeResult.ErrorOutOfMemory;
        invocation.RpcBuffer = buffer;
    }

    /// <summary>The pending request is over without an answer the TA can use; a freed (or unfreeable) buffer is forgotten.</summary>
    private static void RpcFailed(OpteeThread thread, uint result)
    {
        var invocation = thread.Invocation;
        if (invocation.Request.Command == OpteeMsg.RpcCmdShmFree) invocation.Allocation = default;
        invocation.Request = default;
        invocation.RpcResult = result == TeeResult.Success ? TeeResult.ErrorCommunication : result;
        invocation.RpcBuffer = default;
    }
}
