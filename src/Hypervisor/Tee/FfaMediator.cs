using Jit.Hypervisor.Config;
using Jit.Hypervisor.Memory;
using Jit.Hypervisor.Smccc;
using Jit.Runtime.Memory;
using Jit.SecureWorld;
using Jit.SecureWorld.Ffa;

namespace Jit.Hypervisor.Tee;

/// <summary>
/// The FF-A mediator of one domain, in the role of Xen's tee/ffa.c: the domain's FF-A calls (the Standard Secure
/// Service's 0x60–0xFF) reach the modelled SPMC only through here, as endpoint domid + 1 (the hypervisor is 0),
/// and nothing the guest wrote reaches the secure world unchecked.
/// </summary>
/// <remarks>
/// <para>The mediator answers FFA_ID_GET, FFA_FEATURES (the functions it mediates) and the buffer calls itself: the
/// guest's RX/TX pair stays in the guest, checked to be its own RAM; the SPMC sees a shadow pair of hypervisor
/// pages mapped for the domain when it is created. Partition information is written by the SPMC to the shadow
/// RX and copied to the guest's; a share's descriptor is copied from the guest's TX into the mediator, checked
/// (the sender is the domain, every receiver an existing partition, every constituent page the domain's own RAM
/// and not already shared), and rewritten with machine addresses into the shadow TX.</para>
/// <para>Direct requests go to existing partitions only, with the domain's ID as sender whatever the guest put in
/// w1; framework messages are the hypervisor's. They touch no mediator state: no lock, no allocation.</para>
/// <para>The SPMC hears of the domain by VM availability messages (created, destroyed) to the partitions that
/// asked for them; at destruction the mediator reclaims every share the domain left and unmaps its shadows.</para>
/// </remarks>
public sealed unsafe partial class FfaMediator : ITeeMediator
{
    private readonly int domId;
    private readonly ushort endpoint;
    private readonly GuestMemory guest;
    private readonly DomainMachineRam ram;
    private readonly SecureMonitor monitor;
    private readonly FfaMediatorLimits limits;
    private readonly Lock gate = new();
    private bool created, destroyed;
    private volatile bool live;

    // The partitions the SPMC reported when the domain was created, and their properties.
    private ushort[] partitions = [];
    private uint[] properties = [];

    public FfaMediator(int domId, GuestMemory guest, DomainMachineRam ram, SecureMonitor monitor, FfaMediatorLimits? limits = null)
    {
        this.domId = domId;
        endpoint = (ushort)SecureCall.ClientIdForDomain(domId);
        this.guest = guest;
        this.ram = ram;
        this.monitor = monitor;
        this.limits = limits ?? new FfaMediatorLimits();
        if (this.limits.MaxBufferPages is < 1 or > (int)FfaAbi.RxTxPageCountMask || this.limits.MaxReceivers < 1 || this.limits.MaxRanges < 1
            || this.limits.MaxSharePages < 1)
            throw new ArgumentException("FF-A mediator limits: MaxBufferPages 1–63, the others at least 1");
        txCopy = new byte[this.limits.MaxBufferPages * FfaAbi.PageSize];
        sharePages = new ulong[this.limits.MaxSharePages];
        shareMachine = new ulong[this.limits.MaxSharePages];
    }

    public string Name => "FF-A mediator";
    public TeeKind Kind => TeeKind.Ffa;

    /// <summary>The domain's FF-A endpoint ID: domid + 1.</summary>
    public ushort EndpointId => endpoint;

    /// <summary>The partitions a direct request may go to.</summary>
    public IReadOnlyList<ushort> Partitions => partitions;

    public void DomainCreated()
    {
        lock (gate)
        {
            if (created || destroyed) throw new InvalidOperationException($"d{domId}: the FF-A mediator was already started");
            if (monitor.Spmc is null) throw new InvalidOperationException($"d{domId}: tee = \"ffa\", but the secure world has no SPMC");
            var version = Secure(FfaAbi.Version, FfaAbi.Version11);
            if ((uint)version.A0 != FfaAbi.Version11)
                throw new InvalidOperationException($"d{domId}: the SPMC does not speak FF-A 1.1 (FFA_VERSION returned 0x{(uint)version.A0:x})");
            MapShadows();
            try
            {
                DiscoverPartitions();
                for (int i = 0; i < partitions.Length; i++)
                    if ((properties[i] & FfaAbi.PropVmCreated) != 0 && !TellPartition(partitions[i], FfaAbi.VmCreatedMessage))
                        throw new InvalidOperationException($"d{domId}: secure partition 0x{partitions[i]:x4} refused the VM created message");
            }
            catch
            {
                UnmapShadows();
                throw;
            }
            created = true;
            live = true;
        }
    }

    public void DomainDestroyed()
    {
        lock (gate)
        {
            if (destroyed) return;
            destroyed = true;
            live = false;
            if (created)
            {
                // What the partitions still hold the SPMC drops when they hear the VM is gone.
                foreach (ulong handle in shares.Keys) Secure(FfaAbi.MemReclaim, (uint)handle, handle >> 32);
                UnmapShadows();
                for (int i = 0; i < partitions.Length; i++)
                    if ((properties[i] & FfaAbi.PropVmDestroyed) != 0) TellPartition(partitions[i], FfaAbi.VmDestroyedMessage);
            }
            shares.Clear();
            sharedPages.Clear();
            guestPages = 0;
            guestRxHeld = false;
        }
    }

    public SmcccOutcome Call(ref SmcccCall c)
    {
        uint fid = c.FunctionId;
        if (!FfaAbi.IsFfa(fid)) return SmcccOutcome.Unknown;
        if (!live)
        {
            Error(ref c, FfaAbi.NotSupported);
            return SmcccOutcome.Done;
        }
        switch (fid)
        {
            case FfaAbi.Version: Version(ref c); break;
            case FfaAbi.Features: Features(ref c); break;
            case FfaAbi.IdGet: Success(ref c, endpoint); break;
            case FfaAbi.SpmIdGet: Return(ref c, Secure(FfaAbi.SpmIdGet)); break;
            case FfaAbi.MsgSendDirectReq32 or FfaAbi.MsgSendDirectReq64: DirectRequest(ref c); break;
            case FfaAbi.RxTxMap32 or FfaAbi.RxTxMap64: lock (gate) RxTxMap(ref c); break;
            case FfaAbi.RxTxUnmap: lock (gate) RxTxUnmap(ref c); break;
            case FfaAbi.RxRelease: lock (gate) RxRelease(ref c); break;
            case FfaAbi.PartitionInfoGet: lock (gate) PartitionInfoGet(ref c); break;
            case FfaAbi.MemShare32 or FfaAbi.MemShare64: lock (gate) MemShare(ref c); break;
            case FfaAbi.MemReclaim: lock (gate) MemReclaim(ref c); break;
            // Everything else, the SP-side calls (FFA_MSG_SEND_DIRECT_RESP, FFA_MSG_WAIT) and what the SPMC lacks
            // (notifications, indirect messages, lend, donate, retrieve) included.
            default: Error(ref c, FfaAbi.NotSupported); break;
        }
        return SmcccOutcome.Done;
    }

    /// <summary>FFA_VERSION: the SPMC answers, and records which layouts the domain reads.</summary>
    private void Version(ref SmcccCall c)
    {
        var smc = Secure(FfaAbi.Version, (uint)c.X1);
        c.Return((int)(uint)smc.A0, 0, 0, 0);
    }

    // What the domain may call: FFA_FEATURES says SUCCESS for these, with no optional properties (4 KiB buffers,
    // descriptors only in the TX buffer), and NOT_SUPPORTED for everything else, feature IDs included.
    private static readonly uint[] Mediated =
    [
        FfaAbi.Error, FfaAbi.Success32, FfaAbi.Success64, FfaAbi.Version, FfaAbi.Features, FfaAbi.IdGet, FfaAbi.SpmIdGet,
        FfaAbi.RxTxMap32, FfaAbi.RxTxMap64, FfaAbi.RxTxUnmap, FfaAbi.RxRelease, FfaAbi.PartitionInfoGet,
        FfaAbi.MsgSendDirectReq32, FfaAbi.MsgSendDirectReq64, FfaAbi.MemShare32, FfaAbi.MemShare64, FfaAbi.MemReclaim,
    ];

    private static void Features(ref SmcccCall c)
    {
        if (Array.IndexOf(Mediated, (uint)c.X1) >= 0) Success(ref c);
        else Error(ref c, FfaAbi.NotSupported);
    }

    /// <summary>
    /// FFA_MSG_SEND_DIRECT_REQ: to a partition that takes direct requests, as the domain, w2 zero; the partition's
    /// response goes back whole (w0–w7).
    /// </summary>
    private void DirectRequest(ref SmcccCall c)
    {
        ushort receiver = (ushort)c.X1;
        if ((uint)c.X2 != 0 || !TakesDirectRequests(receiver))
        {
            Error(ref c, FfaAbi.InvalidParameters);
            return;
        }
        var smc = new SecureCall(c.FunctionId, SecureCall.HypervisorClientId)
        {
            Endpoint = endpoint,
            A1 = ((uint)endpoint << 16) | receiver,
            A3 = c.Arg(3), A4 = c.Arg(4), A5 = c.Arg(5), A6 = c.Arg(6), A7 = c.Arg(7),
        };
        monitor.Smc(ref smc);
        Return(ref c, in smc);
    }

    private bool TakesDirectRequests(ushort id)
    {
        var ids = partitions;
        for (int i = 0; i < ids.Length; i++)
            if (ids[i] == id) return (properties[i] & FfaAbi.PropDirectRequestReceive) != 0;
        return false;
    }

    /// <summary>A VM availability message from the hypervisor to partition <paramref name="partition"/>, about this domain.</summary>
    private bool TellPartition(ushort partition, uint message)
    {
        var smc = new SecureCall(FfaAbi.MsgSendDirectReq32, SecureCall.HypervisorClientId)
        {
            Endpoint = FfaAbi.HypervisorId, A1 = partition, A2 = FfaAbi.FrameworkMessage | message, A5 = endpoint,
        };
        monitor.Smc(ref smc);
        return (uint)smc.A0 == FfaAbi.MsgSendDirectResp32 && (uint)smc.A2 == (FfaAbi.FrameworkMessage | (message + 1)) && (uint)smc.A3 == 0;
    }

    /// <summary>An FF-A call to the SPMC as the domain's endpoint.</summary>
    private SecureCall Secure(uint fid, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        var smc = new SecureCall(fid, SecureCall.HypervisorClientId) { Endpoint = endpoint, A1 = a1, A2 = a2, A3 = a3, A4 = a4, A5 = a5 };
        monitor.Smc(ref smc);
        return smc;
    }

    private static bool Succeeded(in SecureCall smc) => (uint)smc.A0 is FfaAbi.Success32 or FfaAbi.Success64;

    /// <summary>The SPMC's answer, w0–w7, to the guest.</summary>
    private static void Return(ref SmcccCall c, in SecureCall smc)
    {
        c.Return((long)smc.A0, smc.A1, smc.A2, smc.A3);
        c.X4 = smc.A4;
        c.X5 = smc.A5;
        c.X6 = smc.A6;
        c.X7 = smc.A7;
    }

    private static void Error(ref SmcccCall c, int error) => Set(ref c, FfaAbi.Error, (uint)error);

    private static void Success(ref SmcccCall c, ulong w2 = 0, ulong w3 = 0) => Set(ref c, FfaAbi.Success32, w2, w3);

    // FFA_ERROR and FFA_SUCCESS: w1 and w4–w7 zero, nothing of the request left in them.
    private static void Set(ref SmcccCall c, uint w0, ulong w2, ulong w3 = 0)
    {
        c.Return(w0, 0, w2, w3);
        c.X4 = c.X5 = c.X6 = c.X7 = 0;
    }

    // The guest's memory, every page of it checked to be its own RAM before it is touched.
    private bool ReadGuest(ulong ipa, Span<byte> destination) =>
        ram.IsOwnRam(ipa, (ulong)destination.Length) && guest.Read(ipa, destination) == GuestMemoryStatus.Ok;

    private bool WriteGuest(ulong ipa, ReadOnlySpan<byte> source) =>
        ram.IsOwnRam(ipa, (ulong)source.Length) && guest.Write(ipa, source) == GuestMemoryStatus.Ok;
}
