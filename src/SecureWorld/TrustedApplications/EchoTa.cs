using Jit.SecureWorld.Optee;

namespace Jit.SecureWorld.TrustedApplications;

/// <summary>
/// A null/echo TA for tests and latency measurement: a command that does nothing (the null yielding call of the
/// benchmark), value and memory-reference echoes, an in-place transform of an in/out buffer, and a round trip
/// through shared memory the TA asks the normal world's driver for (OPTEE_RPC_CMD_SHM_ALLOC and SHM_FREE).
/// </summary>
public sealed class EchoTa : ITrustedApplication
{
    public static readonly Guid TaUuid = new("1ca132ce-98f6-4c60-8132-33281bc6e3f6");

    /// <summary>Nothing; any parameters.</summary>
    public const uint CmdNull = 0;
    /// <summary>params[0] value input (a, b) → params[1] value output (b, a).</summary>
    public const uint CmdEchoValue = 1;
    /// <summary>params[0] memref input → params[1] memref output, the same bytes; SHORT_BUFFER if it does not fit.</summary>
    public const uint CmdEchoMemref = 2;
    /// <summary>params[0] memref in/out: its bytes reversed in place.</summary>
    public const uint CmdReverse = 3;
    /// <summary>
    /// params[0] memref in/out: copied into a kernel buffer allocated by RPC, read back from there, freed by RPC,
    /// and returned complemented (every byte XOR 0xFF), so the result shows it went through the RPC buffer.
    /// Cancelled during the allocation, it returns TEE_ERROR_CANCEL.
    /// </summary>
    public const uint CmdRpcRoundTrip = 4;

    /// <summary>The largest buffer one command handles.</summary>
    public const int MaxBuffer = 1 << 20;

    public Guid Uuid => TaUuid;
    public string Name => "echo";
    public bool IsDevice => false;

    /// <summary>A session's scratch buffer, grown once to the largest size it has seen.</summary>
    private sealed class EchoSession
    {
        public byte[] Scratch = new byte[4096];

        public Span<byte> Take(int length)
        {
            if (Scratch.Length < length) Scratch = new byte[Math.Max(length, Scratch.Length * 2)];
            return Scratch.AsSpan(0, length);
        }
    }

    public TaReturn OpenSession(TaInvocation call)
    {
        call.Session = new EchoSession();
        return TeeResult.Success;
    }

    public TaReturn Invoke(TaInvocation call)
    {
        var session = (EchoSession)call.Session!;
        var p = call.Params;
        switch (call.Command)
        {
            case CmdNull:
                return TeeResult.Success;
            case CmdEchoValue:
                if (p[0].Type != TaParamType.ValueInput || p[1].Type != TaParamType.ValueOutput) return TeeResult.ErrorBadParameters;
                p[1].A = p[0].B;
                p[1].B = p[0].A;
                return TeeResult.Success;
            case CmdEchoMemref:
                return EchoMemref(session, p);
            case CmdReverse:
                return Reverse(session, ref p[0]);
            case CmdRpcRoundTrip:
                return RpcRoundTrip(session, call);
            default:
                return TeeResult.ErrorNotImplemented;
        }
    }

    private static uint EchoMemref(EchoSession session, Span<TaParam> p)
    {
        if (p[0].Type != TaParamType.MemrefInput || p[1].Type != TaParamType.MemrefOutput) return TeeResult.ErrorBadParameters;
        if (p[0].Size > MaxBuffer) return TeeResult.ErrorBadParameters;
        int length = (int)p[0].Size;
        ulong room = p[1].Size;
        p[1].Size = (ulong)length;
        if (room < (ulong)length) return TeeResult.ErrorShortBuffer;
        if (length == 0) return TeeResult.Success;
        var data = session.Take(length);
        return p[0].Buffer.Read(0, data) && p[1].Buffer.Write(0, data) ? TeeResult.Success : TeeResult.ErrorBadParameters;
    }

    private static uint Reverse(EchoSession session, ref TaParam p)
    {
        if (p.Type != TaParamType.MemrefInout || p.Size > MaxBuffer) return TeeResult.ErrorBadParameters;
        var data = session.Take((int)p.Size);
        if (!p.Buffer.Read(0, data)) return TeeResult.ErrorBadParameters;
        data.Reverse();
        return p.Buffer.Write(0, data) ? TeeResult.Success : TeeResult.ErrorBadParameters;
    }

    private static TaReturn RpcRoundTrip(EchoSession session, TaInvocation call)
    {
        ref var p = ref call.Params[0];
        switch (call.Step)
        {
            case 0:
                if (p.Type != TaParamType.MemrefInout || p.Size == 0 || p.Size > MaxBuffer) return TeeResult.ErrorBadParameters;
                call.Step = 1;
                return call.AllocateSharedMemory(OpteeMsg.RpcShmTypeKernel, (uint)p.Size);
            case 1:
            {
                if (call.RpcResult != TeeResult.Success) return call.RpcResult;
                // Cancelled while the normal world was allocating: give up; the OS frees the buffer.
                if (call.CancelRequested) return TeeResult.ErrorCancel;
                var data = session.Take((int)p.Size);
                if (!p.Buffer.Read(0, data) || !call.RpcBuffer.Write(0, data)) return TeeResult.ErrorBadParameters;
                data.Clear();
                if (!call.RpcBuffer.Read(0, data)) return TeeResult.ErrorBadParameters;
                call.Step = 2;
                return call.FreeSharedMemory();
            }
            default:
            {
                var data = session.Take((int)p.Size);
                foreach (ref byte b in data) b ^= 0xFF;
                return p.Buffer.Write(0, data) ? TeeResult.Success : TeeResult.ErrorBadParameters;
            }
        }
    }

    public void CloseSession(object? session) { }
}
