using Jit.Hypervisor.Config;
using Jit.Hypervisor.Memory;
using Jit.Hypervisor.Smccc;
using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.SecureWorld;
using Jit.SecureWorld.Optee;

namespace Jit.Hypervisor.Tee;

/// <summary>
/// The OP-TEE mediator of one domain, as Xen's tee/optee.c does it: the domain's Trusted OS calls (owners 50–63)
/// reach the modelled OP-TEE only through here, with the domain's client ID (domid + 1) in a7 whatever the
/// guest put there, and nothing the guest wrote reaches the secure world unchecked.
/// </summary>
/// <remarks>
/// <para>Fast calls: the identification calls and the shm cache go through; EXCHANGE_CAPABILITIES is filtered
/// (dynamic shared memory required, no reserved or unregistered shared memory, no asynchronous notification);
/// GET_SHM_CONFIG is ENOTAVAIL; VM_CREATED, VM_DESTROYED and anything else the guest may not or need not call
/// are NOT_SUPPORTED.</para>
/// <para>Yielding calls (CALL_WITH_ARG, CALL_WITH_RPC_ARG, CALL_WITH_REGD_ARG): the guest's struct optee_msg_arg is
/// copied into a shadow page of hypervisor memory, only OPEN_SESSION, INVOKE_COMMAND, CLOSE_SESSION, CANCEL,
/// REGISTER_SHM and UNREGISTER_SHM pass (else EBADCMD), every page list is rewritten page by page into machine
/// addresses of pages checked to be the domain's own RAM, and the secure world runs on the shadow. Results go
/// back field by field (ret, ret_origin, the session, output values and sizes), never a translated address.</para>
/// <para>RPCs go back to the guest and resume with RETURN_FROM_RPC: the RPC argument the secure world wrote in a
/// shadow is copied to the guest's, the guest's answer copied back and checked, and a buffer the guest allocated
/// for SHM_ALLOC translated like any page list. RPC argument buffers from RPC_FUNC_ALLOC get shadows of their own.</para>
/// <para>The model never blocks: every SMC returns at once, completed or at an RPC, so no vCPU ever parks here.
/// A domain's calls run one at a time under its lock; different domains run in parallel. Calls, shadows and
/// buffer records are pooled per domain: a call in steady state allocates nothing.</para>
/// </remarks>
public sealed partial class OpteeMediator : ITeeMediator
{
    private readonly int domId;
    private readonly uint clientId;
    private readonly GuestMemory guest;
    private readonly DomainMachineRam ram;
    private readonly SecureMonitor monitor;
    private readonly OpteeMediatorLimits limits;

    private readonly Lock gate = new();
    private readonly OpteeCall[] calls;
    private readonly ShadowPagePool pool;
    // Registered and RPC-allocated buffers by cookie, and spare records.
    private readonly Dictionary<ulong, OpteeShmBuffer> buffers;
    private readonly Stack<OpteeShmBuffer> spareBuffers = new();
    private int sharedPages;
    private readonly RpcArgBuffer[] rpcArgs;
    private readonly HashSet<uint> sessions = new(64);
    private readonly byte[] scratch = new byte[ShadowPage.Size];
    private bool created, destroyed;

    // What the secure world offers (probed at DomainCreated) and what the guest is told.
    private uint secureCapabilities;
    private int rpcParamCount;

    public OpteeMediator(int domId, GuestMemory guest, DomainMachineRam ram, SecureMonitor monitor, OpteeMediatorLimits? limits = null)
    {
        this.domId = domId;
        clientId = SecureCall.ClientIdForDomain(domId);
        this.guest = guest;
        this.ram = ram;
        this.monitor = monitor;
        this.limits = limits ?? new OpteeMediatorLimits();
        if (this.limits.MaxParams is < 1 or > 64 || this.limits.MaxCalls < 1)
            throw new ArgumentException("OP-TEE mediator limits: MaxParams 1–64, MaxCalls at least 1");
        calls = new OpteeCall[this.limits.MaxCalls];
        for (int i = 0; i < calls.Length; i++) calls[i] = new OpteeCall(this.limits.MaxParams);
        rpcArgs = new RpcArgBuffer[this.limits.MaxRpcArgBuffers];
        for (int i = 0; i < rpcArgs.Length; i++) rpcArgs[i] = new RpcArgBuffer();
        buffers = new Dictionary<ulong, OpteeShmBuffer>(this.limits.MaxSharedBuffers);
        pool = new ShadowPagePool(ram.Map, this.limits.MaxShadowPages);
    }

    public string Name => "OP-TEE mediator";
    public TeeKind Kind => TeeKind.Optee;
    public uint ClientId => clientId;

    // What the domain holds, for statistics and for tests.
    public int CallsInFlight { get { lock (gate) return calls.Count(c => c.State != OpteeCallState.Free); } }
    public int SharedBufferCount { get { lock (gate) return buffers.Count; } }
    public int SharedPageCount { get { lock (gate) return sharedPages; } }
    public int SessionCount { get { lock (gate) return sessions.Count; } }
    public int RpcArgBufferCount { get { lock (gate) return rpcArgs.Count(r => r.InUse); } }
    public int ShadowPages { get { lock (gate) return pool.Pages; } }

    private bool Live => created && !destroyed;

    public void DomainCreated()
    {
        lock (gate)
        {
            if (created || destroyed) throw new InvalidOperationException($"d{domId}: the OP-TEE mediator was already started");
            // The hypervisor may probe the OS as client 0 before any guest exists.
            var caps = new SecureCall(OpteeSmc.ExchangeCapabilities, SecureCall.HypervisorClientId);
            monitor.Smc(ref caps);
            if ((uint)caps.A0 != OpteeSmc.ReturnOk || ((uint)caps.A1 & OpteeSmc.SecCapDynamicShm) == 0)
                throw new InvalidOperationException($"d{domId}: the secure world's OP-TEE offers no dynamic shared memory, which the mediator needs");
            secureCapabilities = (uint)caps.A1;
            // The RPC argument shares the argument's shadow page: an OS that wants more room than that gets its
            // RPC arguments from RPC_FUNC_ALLOC instead (the capability is hidden from the guest).
            int room = (ShadowPage.Size - OpteeMsg.ArgSize(limits.MaxParams) - OpteeMsg.HeaderSize) / OpteeMsg.ParamSize;
            rpcParamCount = (secureCapabilities & OpteeSmc.SecCapRpcArg) != 0 && (uint)caps.A3 <= (uint)room ? (int)(uint)caps.A3 : 0;
            if (rpcParamCount == 0) secureCapabilities &= ~OpteeSmc.SecCapRpcArg;

            var create = new SecureCall(OpteeSmc.VmCreated, SecureCall.HypervisorClientId) { A1 = clientId };
            monitor.Smc(ref create);
            if ((uint)create.A0 != OpteeSmc.ReturnOk)
                throw new InvalidOperationException($"d{domId}: OP-TEE refused the domain (VM_CREATED returned 0x{(uint)create.A0:x}: too many clients?)");
            created = true;
        }
    }

    public void DomainDestroyed()
    {
        lock (gate)
        {
            if (destroyed) return;
            destroyed = true;
            if (created)
            {
                // The OS drops the client's sessions, shared memory and suspended calls; only then may its pages go.
                var destroy = new SecureCall(OpteeSmc.VmDestroyed, SecureCall.HypervisorClientId) { A1 = clientId };
                monitor.Smc(ref destroy);
                // Said in the hypervisor's log (xl dmesg), so a user (and a test in another process) can see the
                // secure world kept nothing of the domain.
                var os = monitor.TrustedOs;
                Log.Warn(os.HasClient(clientId)
                    ? $"tee: domain {domId} destroyed, but OP-TEE still holds client {clientId}: {os.SessionCount(clientId)} sessions, {os.SharedMemoryCount(clientId)} shared buffers, {os.BusyThreadCount(clientId)} busy threads"
                    : $"tee: domain {domId} destroyed; OP-TEE holds nothing of client {clientId}");
            }
            foreach (var call in calls)
            {
                call.Borrowed.Clear();
                Release(call);
            }
            foreach (var r in rpcArgs) r.InUse = false;
            buffers.Clear();
            sharedPages = 0;
            sessions.Clear();
            pool.Release();
        }
    }

    public SmcccOutcome Call(ref SmcccCall call)
    {
        uint fid = call.FunctionId;
        if (!call.IsFast)
        {
            switch (fid)
            {
                case OpteeSmc.CallWithArg: StdCall(ref call, OpteeArgMode.WithArg); return SmcccOutcome.Done;
                case OpteeSmc.CallWithRpcArg when rpcParamCount > 0: StdCall(ref call, OpteeArgMode.WithRpcArg); return SmcccOutcome.Done;
                case OpteeSmc.CallWithRegdArg when rpcParamCount > 0: StdCall(ref call, OpteeArgMode.Registered); return SmcccOutcome.Done;
                case OpteeSmc.ReturnFromRpc: ReturnFromRpc(ref call); return SmcccOutcome.Done;
                default: return SmcccOutcome.Unknown;
            }
        }
        if (!Live)
        {
            if (fid is OpteeSmc.CallsCount or OpteeSmc.CallsUid or OpteeSmc.CallsRevision or OpteeSmc.GetOsUuid
                or OpteeSmc.GetOsRevision or OpteeSmc.GetThreadCount or OpteeSmc.ExchangeCapabilities
                or OpteeSmc.DisableShmCache or OpteeSmc.EnableShmCache or OpteeSmc.GetShmConfig)
            {
                call.Return(OpteeSmc.ReturnENotAvail);
                return SmcccOutcome.Done;
            }
            return SmcccOutcome.Unknown;
        }
        switch (fid)
        {
            case OpteeSmc.CallsCount:
            case OpteeSmc.CallsUid:
            case OpteeSmc.CallsRevision:
            case OpteeSmc.GetOsUuid:
            case OpteeSmc.GetOsRevision:
            case OpteeSmc.EnableShmCache:
            case OpteeSmc.EnableAsyncNotif:
            case OpteeSmc.GetAsyncNotifValue:
                Forward(ref call, fid);
                return SmcccOutcome.Done;
            case OpteeSmc.GetThreadCount:
                Forward(ref call, fid);
                if ((uint)call.X0 == OpteeSmc.ReturnOk) call.X1 = Math.Min((uint)call.X1, (uint)limits.MaxCalls);
                return SmcccOutcome.Done;
            case OpteeSmc.ExchangeCapabilities:
                ExchangeCapabilities(ref call);
                return SmcccOutcome.Done;
            case OpteeSmc.DisableShmCache:
                DisableShmCache(ref call);
                return SmcccOutcome.Done;
            case OpteeSmc.GetShmConfig:
                // Reserved shared memory is the host's, never a guest's: dynamic shared memory only.
                call.Return(OpteeSmc.ReturnENotAvail);
                return SmcccOutcome.Done;
            default:
                // VM_CREATED and VM_DESTROYED are the hypervisor's; the rest is no function a guest has.
                return SmcccOutcome.Unknown;
        }
    }

    /// <summary>A fast call that carries no address: the OS answers the guest's client directly.</summary>
    private void Forward(ref SmcccCall call, uint fid, ulong a1 = 0)
    {
        var smc = new SecureCall(fid, clientId) { A1 = a1 };
        monitor.Smc(ref smc);
        call.Return((long)smc.A0, smc.A1, smc.A2, smc.A3);
    }

    // The capabilities a guest may see: what the mediator can translate.
    private const uint GuestSecureCapabilities = OpteeSmc.SecCapDynamicShm | OpteeSmc.SecCapMemrefNull | OpteeSmc.SecCapRpcArg;

    private void ExchangeCapabilities(ref SmcccCall call)
    {
        Forward(ref call, OpteeSmc.ExchangeCapabilities, (uint)call.X1 & OpteeSmc.NsecCapUniprocessor);
        if ((uint)call.X0 != OpteeSmc.ReturnOk) return;
        uint caps = (uint)call.X1 & GuestSecureCapabilities & secureCapabilities;
        if ((caps & OpteeSmc.SecCapDynamicShm) == 0)
        {
            call.Return(OpteeSmc.ReturnENotAvail);
            return;
        }
        call.Return(OpteeSmc.ReturnOk, caps, 0, (caps & OpteeSmc.SecCapRpcArg) != 0 ? (ulong)rpcParamCount : 0);
    }

    private void DisableShmCache(ref SmcccCall call)
    {
        lock (gate)
        {
            Forward(ref call, OpteeSmc.DisableShmCache);
            // The OS let go of an RPC argument buffer: its shadow goes back to the pool.
            if ((uint)call.X0 == OpteeSmc.ReturnOk) ReleaseRpcArg(OpteeSmc.Pair(call.X1, call.X2));
        }
    }
}
