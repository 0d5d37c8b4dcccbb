using Jit.Runtime;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.SecureWorld.Optee;

/// <summary>
/// The modelled OP-TEE OS, built with virtualisation support: it speaks OP-TEE's SMC ABI and message protocol as
/// Linux's optee driver uses them, keeps every client's sessions and shared memory apart, and runs trusted
/// applications written in C#. Clients exist from the hypervisor's VM_CREATED to its VM_DESTROYED; a call from
/// any other client ID gets OPTEE_SMC_RETURN_ENOTAVAIL, as OP-TEE answers an unknown guest.
/// </summary>
/// <remarks>
/// Calls of one client run one at a time under its lock; calls of different clients run in parallel. A yielding
/// call that needs the normal world returns an RPC code and is resumed by RETURN_FROM_RPC with the thread index
/// it returned in a3 (see <see cref="OpteeThread"/>).
/// </remarks>
public sealed partial class OpteeOs
{
    private readonly IMachineMemory memory;
    private readonly OpteeOptions options;
    private readonly Dictionary<Guid, ITrustedApplication> applications = [];
    // Clients by ID, for every call to find its own without a lock or a hash: entries are set and cleared, and
    // the array replaced by a longer copy, only under lifecycle; IDs are domid + 1, at most 16 bits (VmCreated).
    private volatile OpteeClient?[] clients = new OpteeClient?[16];
    private int clientCount;
    private readonly Lock lifecycle = new();
    private readonly UnknownCallLog unknown = new("OP-TEE");
    private int lastSessionId;

    // The functions OPTEE_SMC_CALLS_COUNT counts.
    private static readonly uint[] Implemented =
    [
        OpteeSmc.CallsCount, OpteeSmc.CallsUid, OpteeSmc.CallsRevision, OpteeSmc.GetOsUuid, OpteeSmc.GetOsRevision,
        OpteeSmc.ExchangeCapabilities, OpteeSmc.DisableShmCache, OpteeSmc.EnableShmCache, OpteeSmc.VmCreated,
        OpteeSmc.VmDestroyed, OpteeSmc.GetThreadCount, OpteeSmc.CallWithArg, OpteeSmc.ReturnFromRpc,
        OpteeSmc.CallWithRpcArg, OpteeSmc.CallWithRegdArg,
    ];

    /// <param name="memory">Normal-world memory by machine address.</param>
    /// <param name="applications">The TAs; the device-enumeration PTA is always added and lists those that are devices.</param>
    public OpteeOs(IMachineMemory memory, IEnumerable<ITrustedApplication> applications, OpteeOptions? options = null)
    {
        this.memory = memory;
        this.options = options ?? new OpteeOptions();
        if (this.options.ThreadsPerClient < 1 || this.options.RpcParamCount is < 1 or > 255 || this.options.MaxClients < 1)
            throw new ArgumentException("OP-TEE options: ThreadsPerClient, MaxClients and RpcParamCount (1-255) must be positive");
        foreach (var ta in applications)
            if (!this.applications.TryAdd(ta.Uuid, ta))
                throw new ArgumentException($"two trusted applications with UUID {ta.Uuid}");
        var pta = new DeviceEnumerationPta(this.applications.Values.ToArray());
        if (!this.applications.TryAdd(pta.Uuid, pta)) throw new ArgumentException("a TA has the device PTA's UUID");
    }

    /// <summary>The OS with the echo, RNG and content-decryption TAs (and the device PTA).</summary>
    public static OpteeOs WithStandardApplications(IMachineMemory memory, EntropySource entropy, OpteeOptions? options = null,
        ContentKeys? keys = null) =>
        new(memory, [new EchoTa(), new RngTa(entropy), new ContentDecryptionTa(keys ?? ContentKeys.Test)], options);

    public OpteeOptions Options => options;
    public IReadOnlyCollection<ITrustedApplication> Applications => applications.Values;

    /// <summary>What EXCHANGE_CAPABILITIES offers: dynamic shared memory, virtualisation, and the inline RPC argument.</summary>
    public uint SecureCapabilities =>
        OpteeSmc.SecCapDynamicShm | OpteeSmc.SecCapVirtualization | (options.OfferRpcArg ? OpteeSmc.SecCapRpcArg : 0);

    public void Smc(ref SecureCall call)
    {
        if (call.IsFast) Fast(ref call);
        else Yielding(ref call);
    }

    private void Fast(ref SecureCall call)
    {
        uint fid = call.FunctionId, client = call.ClientId;
        switch (fid)
        {
            case OpteeSmc.VmCreated:
                call.Return32Only(client == SecureCall.HypervisorClientId ? VmCreated((uint)call.A1) : OpteeSmc.ReturnENotAvail);
                return;
            case OpteeSmc.VmDestroyed:
                call.Return32Only(client == SecureCall.HypervisorClientId ? VmDestroyed((uint)call.A1) : OpteeSmc.ReturnENotAvail);
                return;
        }
        if (!IsFastFunction(fid))
        {
            // SMCCC: a function the OS does not implement is NOT_SUPPORTED whoever asks.
            (Find(client)?.UnknownCalls ?? unknown).Report(fid, "OPTEE_SMC_RETURN_UNKNOWN_FUNCTION");
            call.ReturnStatus(SmcccStatus.NotSupported);
            return;
        }
        // A guest the OS has not been told about gets nothing; the hypervisor may still probe.
        OpteeClient? known = null;
        if (client != SecureCall.HypervisorClientId && (known = Find(client)) is null)
        {
            call.Return32Only(OpteeSmc.ReturnENotAvail);
            return;
        }
        switch (fid)
        {
            case OpteeSmc.CallsUid:
                call.Return32(OpteeSmc.ApiUid0, OpteeSmc.ApiUid1, OpteeSmc.ApiUid2, OpteeSmc.ApiUid3);
                return;
            case OpteeSmc.CallsRevision:
                call.Return32(OpteeSmc.ApiRevisionMajor, OpteeSmc.ApiRevisionMinor);
                return;
            case OpteeSmc.CallsCount:
                call.Return32((uint)Implemented.Length);
                return;
            case OpteeSmc.GetOsUuid:
                call.Return32(OpteeSmc.OsUuid0, OpteeSmc.OsUuid1, OpteeSmc.OsUuid2, OpteeSmc.OsUuid3);
                return;
            case OpteeSmc.GetOsRevision:
                call.Return32(options.OsRevisionMajor, options.OsRevisionMinor, options.OsBuildId);
                return;
            case OpteeSmc.ExchangeCapabilities:
                // a1 carries the normal world's capabilities; the only one defined (uniprocessor) changes nothing here.
                call.Return32(OpteeSmc.ReturnOk, SecureCapabilities, 0, options.OfferRpcArg ? (uint)options.RpcParamCount : 0);
                return;
            case OpteeSmc.GetThreadCount:
                call.Return32(OpteeSmc.ReturnOk, (uint)options.ThreadsPerClient);
                return;
            case OpteeSmc.DisableShmCache:
                DisableShmCache(known, ref call);
                return;
            case OpteeSmc.EnableShmCache:
                EnableShmCache(known, ref call);
                return;
            case OpteeSmc.GetShmConfig:
                // No reserved shared memory: only dynamic shared memory is offered.
            case OpteeSmc.EnableAsyncNotif:
            case OpteeSmc.GetAsyncNotifValue:
                // Asynchronous notifications are not offered in the capabilities.
                call.Return32Only(OpteeSmc.ReturnENotAvail);
                return;
        }
    }

    /// <summary>
    /// The fast functions the OS answers, VM_CREATED and VM_DESTROYED apart: the fast ones of <see cref="Implemented"/>
    /// and those it answers ENOTAVAIL. A switch, not a search of that table: every fast call asks.
    /// </summary>
    private static bool IsFastFunction(uint fid) => fid is OpteeSmc.CallsCount or OpteeSmc.CallsUid or OpteeSmc.CallsRevision
        or OpteeSmc.GetOsUuid or OpteeSmc.GetOsRevision or OpteeSmc.ExchangeCapabilities or OpteeSmc.DisableShmCache
        or OpteeSmc.EnableShmCache or OpteeSmc.GetThreadCount or OpteeSmc.GetShmConfig or OpteeSmc.EnableAsyncNotif
        or OpteeSmc.GetAsyncNotifValue;

    private uint VmCreated(uint id)
    {
        // OP-TEE keeps guest IDs in 16 bits, and 0 is the hypervisor's own.
        if (id is 0 or > 0xFFFF) return OpteeSmc.ReturnENotAvail;
        lock (lifecycle)
        {
            if (clientCount >= options.MaxClients || Find(id) is not null) return OpteeSmc.ReturnENotAvail;
            var table = clients;
            if (id >= (uint)table.Length)
            {
                var longer = new OpteeClient?[Math.Max(2 * table.Length, (int)id + 1)];
                table.CopyTo(longer, 0);
                clients = table = longer;
            }
            Volatile.Write(ref table[id], new OpteeClient(id, options));
            clientCount++;
        }
        return OpteeSmc.ReturnOk;
    }

    /// <summary>The client <paramref name="id"/>, or null: lock-free, for every call.</summary>
    private OpteeClient? Find(uint id)
    {
        var table = clients;
        return id < (uint)table.Length ? Volatile.Read(ref table[id]) : null;
    }

    private uint VmDestroyed(uint id)
    {
        OpteeClient? client;
        lock (lifecycle)
        {
            client = Find(id);
            if (client is null) return OpteeSmc.ReturnOk;
            Volatile.Write(ref clients[id], null);
            clientCount--;
        }
        lock (client.Gate)
        {
            client.Destroyed = true;
            foreach (var session in client.Sessions.Values) session.Application.CloseSession(session.Context);
            client.Sessions.Clear();
            client.SharedMemory.Clear();
            client.SharedMemoryPages = 0;
            foreach (var thread in client.Threads)
            {
                thread.Release();
                thread.HasRpcArgBuffer = false;
            }
        }
        return OpteeSmc.ReturnOk;
    }

    private static void DisableShmCache(OpteeClient? client, ref SecureCall call)
    {
        if (client is null)
        {
            call.Return32Only(OpteeSmc.ReturnENotAvail);
            return;
        }
        lock (client.Gate)
        {
            if (client.Destroyed)
            {
                call.Return32Only(OpteeSmc.ReturnENotAvail);
                return;
            }
            // Only when idle: a suspended call may be about to use its buffer.
            if (client.AnyThreadBusy())
            {
                call.Return32Only(OpteeSmc.ReturnEBusy);
                return;
            }
            client.ShmCacheEnabled = false;
            foreach (var thread in client.Threads)
            {
                if (!thread.HasRpcArgBuffer) continue;
                thread.HasRpcArgBuffer = false;
                ulong cookie = thread.RpcArgCookie;
                call.Return32(OpteeSmc.ReturnOk, (uint)(cookie >> 32), (uint)cookie);
                return;
            }
            call.Return32Only(OpteeSmc.ReturnENotAvail);
        }
    }

    private static void EnableShmCache(OpteeClient? client, ref SecureCall call)
    {
        if (client is null)
        {
            call.Return32Only(OpteeSmc.ReturnOk);
            return;
        }
        lock (client.Gate)
        {
            if (client.Destroyed) call.Return32Only(OpteeSmc.ReturnENotAvail);
            else if (client.AnyThreadBusy()) call.Return32Only(OpteeSmc.ReturnEBusy);
            else
            {
                client.ShmCacheEnabled = true;
                call.Return32Only(OpteeSmc.ReturnOk);
            }
        }
    }

    // What the OS holds for a client, for the hypervisor's statistics and for tests that a destroyed client left nothing.
    public bool HasClient(uint id) => Find(id) is not null;
    public int ClientCount { get { lock (lifecycle) return clientCount; } }
    public IReadOnlyCollection<uint> ClientIds { get { lock (lifecycle) return clients.OfType<OpteeClient>().Select(c => c.Id).ToArray(); } }

    public int SessionCount(uint id) => Inspect(id, c => c.Sessions.Count);
    public int SharedMemoryCount(uint id) => Inspect(id, c => c.SharedMemory.Count);
    public int BusyThreadCount(uint id) => Inspect(id, c => c.Threads.Count(t => t.State != ThreadState.Free));

    private int Inspect(uint id, Func<OpteeClient, int> what)
    {
        if (Find(id) is not { } client) return 0;
        lock (client.Gate) return client.Destroyed ? 0 : what(client);
    }
}
