namespace Jit.SecureWorld.Optee;

public sealed partial class OpteeOs
{
    /// <summary>Starts the command in the thread's argument copy: either it completes here, or it enters a TA.</summary>
    private void Begin(OpteeClient client, OpteeThread thread)
    {
        var arg = new MsgArg(thread.ArgBytes);
        thread.WriteBack = true;
        thread.SmcStatus = OpteeSmc.ReturnOk;
        thread.Phase = CallPhase.Finish;
        if (thread.ArgLength == OpteeMsg.HeaderSize && arg.NumParams > OpteeThread.MaxArgParams)
        {
            Reply(arg, TeeResult.ErrorBadParameters);
            return;
        }
        switch (arg.Cmd)
        {
            case OpteeMsg.CmdOpenSession: OpenSession(client, thread, arg); break;
            case OpteeMsg.CmdInvokeCommand: InvokeCommand(client, thread, arg); break;
            case OpteeMsg.CmdCloseSession: CloseSession(client, arg); break;
            case OpteeMsg.CmdCancel: Cancel(client, arg); break;
            case OpteeMsg.CmdRegisterShm: RegisterShm(client, arg); break;
            case OpteeMsg.CmdUnregisterShm: UnregisterShm(client, thread, arg); break;
            default:
                // Including DO_BOTTOM_HALF and STOP_ASYNC_NOTIF: asynchronous notification is not offered.
                client.UnknownCommands.Report(arg.Cmd, "OPTEE_SMC_RETURN_EBADCMD");
                thread.WriteBack = false;
                thread.SmcStatus = OpteeSmc.ReturnEBadCmd;
                break;
        }
    }

    private static void Reply(MsgArg arg, uint result)
    {
        arg.Ret = result;
        arg.RetOrigin = TeeResult.OriginTee;
    }

    private void OpenSession(OpteeClient client, OpteeThread thread, MsgArg arg)
    {
        // params[0]: the TA's UUID, params[1]: the client's UUID and (in c) its login, both value inputs marked meta.
        const ulong metaValue = OpteeMsg.AttrTypeValueInput | OpteeMsg.AttrMeta;
        uint count = arg.NumParams;
        if (count < 2 || arg.Attr(0) != metaValue || arg.Attr(1) != metaValue)
        {
            Reply(arg, TeeResult.ErrorBadParameters);
            return;
        }
        var uuid = new Guid(arg.Octets(0)[..16], bigEndian: true);
        if (!applications.TryGetValue(uuid, out var ta))
        {
            Reply(arg, TeeResult.ErrorItemNotFound);
            return;
        }
        if (client.Sessions.Count >= options.MaxSessionsPerClient)
        {
            Reply(arg, TeeResult.ErrorOutOfMemory);
            return;
        }
        uint login = (uint)arg.Word(1, 2);
        thread.Invocation.Begin(client.Id, login, 0, null);
        uint converted = ToTaParams(client, thread, arg, 2, (int)count - 2);
        if (converted != TeeResult.Success)
        {
            Reply(arg, converted);
            return;
        }
        thread.Session = new Session(NextSessionId(client), ta, login);
        thread.OpeningSession = true;
        thread.Phase = CallPhase.RunTa;
    }

    /// <summary>
    /// The client's session <c>arg.Session</c> when it has no call in progress; otherwise replies
    /// BAD_PARAMETERS (a session ID of another client is as unknown here as one never opened) or BUSY.
    /// </summary>
    private static bool TryIdleSession(OpteeClient client, MsgArg arg, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Session? session)
    {
        if (!client.Sessions.TryGetValue(arg.Session, out session))
        {
            Reply(arg, TeeResult.ErrorBadParameters);
            return false;
        }
        if (session.ActiveCall is not null)
        {
            Reply(arg, TeeResult.ErrorBusy);
            return false;
        }
        return true;
    }

    private void InvokeCommand(OpteeClient client, OpteeThread thread, MsgArg arg)
    {
        if (!TryIdleSession(client, arg, out var session)) return;
        thread.Invocation.Begin(client.Id, session.Login, arg.Func, session.Context);
        uint converted = ToTaParams(client, thread, arg, 0, (int)arg.NumParams);
        if (converted != TeeResult.Success)
        {
            Reply(arg, converted);
            return;
        }
        thread.Session = session;
        thread.CancelId = arg.CancelId;
        session.ActiveCall = thread;
        thread.Phase = CallPhase.RunTa;
    }

    /// <summary>What a TA call leaves in the argument struct: the result, the output values and sizes, a new session.</summary>
    private static void EndTaCall(OpteeClient client, OpteeThread thread, uint result)
    {
        var arg = new MsgArg(thread.ArgBytes);
        var session = thread.Session!;
        var invocation = thread.Invocation;
        arg.Ret = result;
        arg.RetOrigin = TeeResult.OriginTrustedApp;
        var parameters = invocation.Params;
        for (int i = 0; i < thread.TaParamCount; i++)
        {
            int at = thread.FirstTaParam + i;
            ref readonly var p = ref parameters[i];
            switch (p.Type)
            {
                case TaParamType.ValueOutput or TaParamType.ValueInout:
                    arg.SetWord(at, 0, p.A);
                    arg.SetWord(at, 1, p.B);
                    break;
                case TaParamType.MemrefOutput or TaParamType.MemrefInout:
                    arg.SetWord(at, 1, p.Size);
                    break;
            }
        }
        if (thread.OpeningSession)
        {
            if (result == TeeResult.Success)
            {
                session.Context = invocation.Session;
                client.Sessions.Add(session.Id, session);
                arg.Session = session.Id;
            }
        }
        else
        {
            session.Context = invocation.Session;
            session.ActiveCall = null;
        }
    }

    private static void CloseSession(OpteeClient client, MsgArg arg)
    {
        if (!TryIdleSession(client, arg, out var session)) return;
        client.Sessions.Remove(session.Id);
        session.Application.CloseSession(session.Context);
        Reply(arg, TeeResult.Success);
    }

    /// <summary>Marks the session's suspended call with that cancel_id; the TA sees it when the call resumes.</summary>
    private static void Cancel(OpteeClient client, MsgArg arg)
    {
        if (!client.Sessions.TryGetValue(arg.Session, out var session))
        {
            Reply(arg, TeeResult.ErrorBadParameters);
            return;
        }
        if (session.ActiveCall is { } call && call.CancelId == arg.CancelId) call.Invocation.CancelRequested = true;
        Reply(arg, TeeResult.Success);
    }

    private void RegisterShm(OpteeClient client, MsgArg arg)
    {
        // Linux's optee_shm_register: one TMEM parameter, NONCONTIG, buf_ptr the page list, shm_ref the cookie.
        ulong type = arg.Attr(0) & ~OpteeMsg.AttrNoncontig;
        if (arg.NumParams != 1 || (arg.Attr(0) & OpteeMsg.AttrNoncontig) == 0
            || type is not (OpteeMsg.AttrTypeTmemInput or OpteeMsg.AttrTypeTmemOutput or OpteeMsg.AttrTypeTmemInout))
        {
            Reply(arg, TeeResult.ErrorBadParameters);
            return;
        }
        ulong bufPtr = arg.Word(0, 0), size = arg.Word(0, 1), cookie = arg.Word(0, 2);
        if (cookie == 0 || client.SharedMemory.ContainsKey(cookie))
        {
            Reply(arg, TeeResult.ErrorBadParameters);
            return;
        }
        if (client.SharedMemory.Count >= options.MaxSharedMemoryPerClient)
        {
            Reply(arg, TeeResult.ErrorOutOfMemory);
            return;
        }
        var shm = new SharedMemory();
        int budget = Math.Min(options.MaxSharedMemoryPagesPerClient - client.SharedMemoryPages, options.MaxSharedMemoryPagesPerClient);
        uint loaded = shm.Load(memory, bufPtr, size, cookie, budget, client.PageListScratch);
        if (loaded != TeeResult.Success)
        {
            Reply(arg, loaded);
            return;
        }
        client.SharedMemory.Add(cookie, shm);
        client.SharedMemoryPages += shm.PageCount;
        Reply(arg, TeeResult.Success);
    }

    private static void UnregisterShm(OpteeClient client, OpteeThread thread, MsgArg arg)
    {
        if (arg.NumParams != 1 || arg.Attr(0) != OpteeMsg.AttrTypeRmemInput)
        {
            Reply(arg, TeeResult.ErrorBadParameters);
            return;
        }
        // A cookie of another client is simply not registered here.
        if (!client.SharedMemory.TryGetValue(arg.Word(0, 2), out var shm))
        {
            Reply(arg, TeeResult.ErrorItemNotFound);
            return;
        }
        if (client.InUse(shm, except: null))
        {
            Reply(arg, TeeResult.ErrorBusy);
            return;
        }
        client.SharedMemory.Remove(shm.Cookie);
        client.SharedMemoryPages -= shm.PageCount;
        Reply(arg, TeeResult.Success);
    }

    private uint NextSessionId(OpteeClient client)
    {
        // Unique across clients, so a session ID seen by one client never names a session of another.
        while (true)
        {
            uint id = (uint)Interlocked.Increment(ref lastSessionId);
            if (id != 0 && !client.Sessions.ContainsKey(id)) return id;
        }
    }

    /// <summary>
    /// Converts the message's parameters [<paramref name="first"/>, first + <paramref name="count"/>) into the TA's,
    /// checking every address and size against memory the client may share and every cookie against its own
    /// registrations. Anything malformed is TEE_ERROR_BAD_PARAMETERS.
    /// </summary>
    private uint ToTaParams(OpteeClient client, OpteeThread thread, MsgArg arg, int first, int count)
    {
        thread.FirstTaParam = first;
        thread.TaParamCount = 0;
        if (count > TaInvocation.ParamCount) return TeeResult.ErrorBadParameters;
        var parameters = thread.Invocation.Params;
        for (int i = 0; i < count; i++)
        {
            int at = first + i;
            ulong attr = arg.Attr(at);
            if ((attr & ~OpteeMsg.AttrKnownBits) != 0 || (attr & OpteeMsg.AttrMeta) != 0) return TeeResult.ErrorBadParameters;
            uint type = (uint)(attr & OpteeMsg.AttrTypeMask);
            bool noncontig = (attr & OpteeMsg.AttrNoncontig) != 0;
            if (noncontig && type is not (OpteeMsg.AttrTypeTmemInput or OpteeMsg.AttrTypeTmemOutput or OpteeMsg.AttrTypeTmemInout))
                return TeeResult.ErrorBadParameters;
            ref var p = ref parameters[i];
            ulong w0 = arg.Word(at, 0), w1 = arg.Word(at, 1), w2 = arg.Word(at, 2);
            switch (type)
            {
                case OpteeMsg.AttrTypeNone:
                    p.Type = TaParamType.None;
                    break;
                case OpteeMsg.AttrTypeValueInput or OpteeMsg.AttrTypeValueOutput or OpteeMsg.AttrTypeValueInout:
                    // GP values are 32 bits wide; the message's 64-bit words are truncated as OP-TEE does.
                    p.Type = (TaParamType)type;
                    p.A = (uint)w0;
                    p.B = (uint)w1;
                    break;
                case OpteeMsg.AttrTypeTmemInput or OpteeMsg.AttrTypeTmemOutput or OpteeMsg.AttrTypeTmemInout:
                {
                    p.Type = (TaParamType)(type - OpteeMsg.AttrTypeTmemInput + (uint)TaParamType.MemrefInput);
                    p.Size = w1;
                    uint made = noncontig ? TemporaryPages(client, thread, i, w0, w1, w2, out p.Buffer) : Temporary(w0, w1, out p.Buffer);
                    if (made != TeeResult.Success) return made;
                    break;
                }
                case OpteeMsg.AttrTypeRmemInput or OpteeMsg.AttrTypeRmemOutput or OpteeMsg.AttrTypeRmemInout:
                {
                    p.Type = (TaParamType)(type - OpteeMsg.AttrTypeRmemInput + (uint)TaParamType.MemrefInput);
                    p.Size = w1;
                    if (!client.SharedMemory.TryGetValue(w2, out var shm) || w0 > shm.Size || w1 > shm.Size - w0)
                        return TeeResult.ErrorBadParameters;
                    p.Buffer = SharedBuffer.Registered(memory, shm, w0, w1);
                    break;
                }
                default:
                    return TeeResult.ErrorBadParameters;
            }
            thread.TaParamCount = i + 1;
        }
        thread.TaParamCount = count;
        return TeeResult.Success;
    }

    /// <summary>A contiguous temporary reference; buf_ptr 0 is the null reference, which must then have size 0.</summary>
    private uint Temporary(ulong address, ulong size, out SharedBuffer buffer)
    {
        buffer = default;
        if (address == 0) return size == 0 ? TeeResult.Success : TeeResult.ErrorBadParameters;
        if (address > ulong.MaxValue - size || memory.Check(address, size) != MemoryStatus.Ok) return TeeResult.ErrorBadParameters;
        buffer = SharedBuffer.Contiguous(memory, address, size);
        return TeeResult.Success;
    }

    private uint TemporaryPages(OpteeClient client, OpteeThread thread, int index, ulong bufPtr, ulong size, ulong cookie,
        out SharedBuffer buffer)
    {
        buffer = default;
        var pages = thread.Temporary[index];
        uint loaded = pages.Load(memory, bufPtr, size, cookie, options.MaxTemporaryPages, client.PageListScratch);
        if (loaded != TeeResult.Success) return loaded == TeeResult.ErrorOutOfMemory ? loaded : TeeResult.ErrorBadParameters;
        buffer = SharedBuffer.Registered(memory, pages, 0, size);
        return TeeResult.Success;
    }
}
