using System.Buffers.Binary;
using System.Collections.Concurrent;
using Jit.Runtime;

namespace Jit.SecureWorld.Ffa;

/// <summary>
/// The modelled SPMC (the Secure Partition Manager Core of FF-A 1.1, at S-EL1/S-EL2 of a real machine): the FF-A
/// calls of the normal world reach it through the secure monitor, and it answers them for its secure partitions —
/// version and features, IDs, partition discovery through the caller's RX buffer, RX/TX buffer mapping, direct
/// requests to a partition and its response, and memory shares by a transaction descriptor in the TX buffer,
/// reclaimed by handle.
/// </summary>
/// <remarks>
/// <para>It keeps every normal-world endpoint apart (<see cref="SecureCall.Endpoint"/>: 0 the hypervisor, domid + 1
/// a VM): its own version, buffers and shares, nothing another endpoint can name. It sees machine addresses only;
/// the hypervisor's mediator translated them. Every value it reads is checked again here: the mediator is one
/// more line of defence, not the only one.</para>
/// <para>VM availability messages (framework direct requests from the hypervisor) reach the partitions that asked
/// for them; after a VM destroyed message the SPMC drops whatever the VM still had, shares included.</para>
/// <para>Calls of one endpoint run under that endpoint's lock, different endpoints in parallel; a direct request
/// touches no SPMC state and allocates nothing.</para>
/// </remarks>
public sealed class Spmc
{
    private readonly IMachineMemory memory;
    private readonly SpmcOptions options;
    private readonly ISecurePartition[] partitions;
    private readonly ConcurrentDictionary<ushort, SpmcClient> clients = new();
    private readonly Lock sharesGate = new();
    private readonly Dictionary<ulong, FfaShare> shares = [];
    // SPMC-allocated handles have bit 63 clear; 0 is never one.
    private long lastHandle = 0xFFA0_0000;
    private readonly UnknownCallLog unknown = new("SPMC");

    public Spmc(IMachineMemory memory, IEnumerable<ISecurePartition> partitions, SpmcOptions? options = null)
    {
        this.memory = memory;
        this.options = options ?? new SpmcOptions();
        if (this.options.MaxBufferPages is < 1 or > (int)FfaAbi.RxTxPageCountMask || this.options.MaxReceivers is < 1 or > 32)
            throw new ArgumentException("SPMC options: MaxBufferPages 1–63, MaxReceivers 1–32");
        this.partitions = [.. partitions];
        foreach (var sp in this.partitions)
        {
            if ((sp.Id & FfaAbi.SpmcId) == 0 || sp.Id == FfaAbi.SpmcId) throw new ArgumentException($"partition ID 0x{sp.Id:x4} is not a secure endpoint's");
            if (this.partitions.Count(p => p.Id == sp.Id) > 1) throw new ArgumentException($"two partitions with ID 0x{sp.Id:x4}");
        }
    }

    /// <summary>The SPMC with our one service partition (<see cref="ServicePartition"/>).</summary>
    public static Spmc WithStandardPartitions(IMachineMemory memory, SpmcOptions? options = null) => new(memory, [new ServicePartition()], options);

    public IReadOnlyList<ISecurePartition> Partitions => partitions;
    public SpmcOptions Options => options;

    // What an endpoint holds, for tests and statistics.
    public bool HasEndpoint(ushort id) => clients.ContainsKey(id);
    public bool HasBuffers(ushort id) => clients.TryGetValue(id, out var c) && c.BufferPages != 0;
    public int ShareCount(ushort id) { lock (sharesGate) return shares.Values.Count(s => s.Sender == id); }

    public void Smc(ref SecureCall call)
    {
        ushort caller = call.Endpoint;
        switch (call.FunctionId)
        {
            case FfaAbi.Version: Version(ref call, caller); return;
            case FfaAbi.Features: Features(ref call); return;
            case FfaAbi.IdGet: Succeed(ref call, caller); return;
            case FfaAbi.SpmIdGet: Succeed(ref call, FfaAbi.SpmcId); return;
            case FfaAbi.RxTxMap32 or FfaAbi.RxTxMap64: RxTxMap(ref call, caller); return;
            case FfaAbi.RxTxUnmap: RxTxUnmap(ref call, caller); return;
            case FfaAbi.RxRelease: RxRelease(ref call, caller); return;
            case FfaAbi.PartitionInfoGet: PartitionInfoGet(ref call, caller); return;
            case FfaAbi.MsgSendDirectReq32 or FfaAbi.MsgSendDirectReq64: DirectRequest(ref call, caller); return;
            case FfaAbi.MemShare32 or FfaAbi.MemShare64: MemShare(ref call, caller); return;
            case FfaAbi.MemReclaim: MemReclaim(ref call, caller); return;
            default:
                unknown.Report(call.FunctionId, "FFA_ERROR(NOT_SUPPORTED)");
                Fail(ref call, FfaAbi.NotSupported);
                return;
        }
    }

    // The functions FFA_FEATURES reports, all without optional properties: buffers of 4 KiB granules, shares only
    // through the TX buffer.
    private static readonly uint[] Implemented =
    [
        FfaAbi.Error, FfaAbi.Success32, FfaAbi.Success64, FfaAbi.Version, FfaAbi.Features, FfaAbi.IdGet, FfaAbi.SpmIdGet, FfaAbi.RxTxMap32, FfaAbi.RxTxMap64,
        FfaAbi.RxTxUnmap, FfaAbi.RxRelease, FfaAbi.PartitionInfoGet, FfaAbi.MsgSendDirectReq32, FfaAbi.MsgSendDirectReq64,
        FfaAbi.MsgSendDirectResp32, FfaAbi.MsgSendDirectResp64, FfaAbi.MemShare32, FfaAbi.MemShare64, FfaAbi.MemReclaim,
    ];

    /// <summary>Whether FFA_FEATURES reports <paramref name="fid"/>.</summary>
    public static bool Implements(uint fid) => Array.IndexOf(Implemented, fid) >= 0;

    public static void Fail(ref SecureCall call, int error) => Set(ref call, FfaAbi.Error, 0, (uint)error);

    public static void Succeed(ref SecureCall call, ulong w2 = 0, ulong w3 = 0) => Set(ref call, FfaAbi.Success32, 0, w2, w3);

    private static void Set(ref SecureCall call, ulong a0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0, ulong a6 = 0, ulong a7 = 0)
    {
        call.A0 = a0; call.A1 = a1; call.A2 = a2; call.A3 = a3;
        call.A4 = a4; call.A5 = a5; call.A6 = a6; call.A7 = a7;
    }

    private SpmcClient Client(ushort id) => clients.GetOrAdd(id, static id => new SpmcClient(id));

    /// <summary>
    /// FFA_VERSION: the caller's version in w1; the answer is ours (1.1) in w0, or NOT_SUPPORTED for another major
    /// version. A caller of 1.0 reads 1.0 layouts from then on (8-byte partition descriptors); one of 1.2 or later
    /// adapts to us, so it gets 1.1's.
    /// </summary>
    private void Version(ref SecureCall call, ushort caller)
    {
        uint requested = (uint)call.A1;
        if ((requested & FfaAbi.VersionMbz) != 0 || FfaAbi.Major(requested) != 1)
        {
            Set(ref call, unchecked((uint)FfaAbi.NotSupported));
            return;
        }
        Client(caller).Version = FfaAbi.Minor(requested) == 0 ? FfaAbi.Version10 : FfaAbi.Version11;
        Set(ref call, FfaAbi.Version11);
    }

    private static void Features(ref SecureCall call)
    {
        uint id = (uint)call.A1;
        // Feature IDs (bit 31 clear: notification and managed-exit interrupts) are not implemented.
        if (Implements(id)) Succeed(ref call);
        else Fail(ref call, FfaAbi.NotSupported);
    }

    /// <summary>FFA_RXTX_MAP: x1 the TX buffer, x2 the RX buffer, w3[5:0] their size in pages.</summary>
    private void RxTxMap(ref SecureCall call, ushort caller)
    {
        bool is64 = call.Is64;
        ulong tx = is64 ? call.A1 : (uint)call.A1, rx = is64 ? call.A2 : (uint)call.A2;
        uint w3 = (uint)call.A3;
        int pages = (int)(w3 & FfaAbi.RxTxPageCountMask);
        if ((w3 & ~FfaAbi.RxTxPageCountMask) != 0 || pages == 0 || pages > options.MaxBufferPages
            || ((tx | rx) & (FfaAbi.PageSize - 1)) != 0)
        {
            Fail(ref call, FfaAbi.InvalidParameters);
            return;
        }
        ulong size = (ulong)pages * FfaAbi.PageSize;
        if ((tx < rx + size && rx < tx + size) || memory.Check(tx, size) != MemoryStatus.Ok || memory.Check(rx, size) != MemoryStatus.Ok)
        {
            Fail(ref call, FfaAbi.InvalidParameters);
            return;
        }
        var client = Client(caller);
        lock (client.Gate)
        {
            if (client.BufferPages != 0)
            {
                Fail(ref call, FfaAbi.Denied);
                return;
            }
            client.Tx = tx;
            client.Rx = rx;
            client.BufferPages = pages;
            client.RxHeldByClient = false;
            if (client.TxCopy is null || client.TxCopy.Length < (int)size) client.TxCopy = new byte[size];
        }
        Succeed(ref call);
    }

    /// <summary>
    /// The endpoint a buffer call speaks of: the caller itself, or, for the hypervisor, the VM whose ID it gives
    /// (w1 bits [31:16] of FFA_RXTX_UNMAP, [15:0] of FFA_RX_RELEASE); a VM may name nobody else.
    /// </summary>
    private static bool Target(ushort caller, ushort named, out ushort target)
    {
        target = caller == FfaAbi.HypervisorId && named != 0 ? named : caller;
        return named == 0 || named == caller || caller == FfaAbi.HypervisorId;
    }

    private void RxTxUnmap(ref SecureCall call, ushort caller)
    {
        if (!Target(caller, (ushort)((uint)call.A1 >> 16), out ushort target) || !clients.TryGetValue(target, out var client))
        {
            Fail(ref call, FfaAbi.InvalidParameters);
            return;
        }
        lock (client.Gate)
        {
            if (client.BufferPages == 0)
            {
                Fail(ref call, FfaAbi.InvalidParameters);
                return;
            }
            client.BufferPages = 0;
            client.Tx = client.Rx = 0;
            client.RxHeldByClient = false;
            // An endpoint that holds nothing any more is forgotten, so that a host that creates and destroys VMs
            // does not accumulate their records.
            if (client.IsEmpty) clients.TryRemove(target, out _);
        }
        Succeed(ref call);
    }

    private void RxRelease(ref SecureCall call, ushort caller)
    {
        if (!Target(caller, (ushort)call.A1, out ushort target) || !clients.TryGetValue(target, out var client))
        {
            Fail(ref call, FfaAbi.Denied);
            return;
        }
        lock (client.Gate)
        {
            if (!client.RxHeldByClient)
            {
                Fail(ref call, FfaAbi.Denied);
                return;
            }
            client.RxHeldByClient = false;
        }
        Succeed(ref call);
    }

    /// <summary>
    /// FFA_PARTITION_INFO_GET: w1–w4 a UUID (its 16 bytes in RFC 4122 order, four to a register, little-endian;
    /// all zero for every partition), w5 flags (bit 0: the count only). Writes one descriptor per match to the
    /// caller's RX buffer, which then belongs to the caller until FFA_RX_RELEASE; returns the count in w2 and the
    /// descriptor size in w3.
    /// </summary>
    private void PartitionInfoGet(ref SecureCall call, ushort caller)
    {
        Span<byte> uuid = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(uuid, (uint)call.A1);
        BinaryPrimitives.WriteUInt32LittleEndian(uuid[4..], (uint)call.A2);
        BinaryPrimitives.WriteUInt32LittleEndian(uuid[8..], (uint)call.A3);
        BinaryPrimitives.WriteUInt32LittleEndian(uuid[12..], (uint)call.A4);
        uint flags = (uint)call.A5;
        bool all = uuid.IndexOfAnyExcept((byte)0) < 0;
        var wanted = new Guid(uuid, bigEndian: true);
        int count = 0;
        foreach (var sp in partitions)
            if (all || sp.Uuid == wanted) count++;
        if ((flags & ~FfaAbi.PartitionInfoCountOnly) != 0 || count == 0)
        {
            Fail(ref call, FfaAbi.InvalidParameters);
            return;
        }
        if ((flags & FfaAbi.PartitionInfoCountOnly) != 0)
        {
            Succeed(ref call, (uint)count);
            return;
        }
        if (!clients.TryGetValue(caller, out var client))
        {
            Fail(ref call, FfaAbi.Denied);
            return;
        }
        int size;
        lock (client.Gate)
        {
            size = client.Version == FfaAbi.Version10 ? FfaAbi.PartitionInfoSize10 : FfaAbi.PartitionInfoSize11;
            int status = client.BufferPages == 0 ? FfaAbi.Denied
                : client.RxHeldByClient ? FfaAbi.Busy
                : count * size > client.BufferSize ? FfaAbi.NoMemory
                : 0;
            if (status == 0) status = WritePartitionInfo(client.Rx, all, wanted, size);
            if (status != 0)
            {
                Fail(ref call, status);
                return;
            }
            client.RxHeldByClient = true;
        }
        Succeed(ref call, (uint)count, (uint)size);
    }

    private int WritePartitionInfo(ulong rx, bool all, Guid wanted, int size)
    {
        Span<byte> descriptor = stackalloc byte[FfaAbi.PartitionInfoSize11];
        int i = 0;
        foreach (var sp in partitions)
        {
            if (!all && sp.Uuid != wanted) continue;
            BinaryPrimitives.WriteUInt16LittleEndian(descriptor, sp.Id);
            BinaryPrimitives.WriteUInt16LittleEndian(descriptor[2..], sp.ExecutionContexts);
            BinaryPrimitives.WriteUInt32LittleEndian(descriptor[4..], sp.Properties);
            sp.Uuid.TryWriteBytes(descriptor[8..], bigEndian: true, out _);
            if (memory.Write(rx + (ulong)(i++ * size), descriptor[..size]) != MemoryStatus.Ok) return FfaAbi.Aborted;
        }
        return 0;
    }

    private ISecurePartition? Partition(ushort id)
    {
        foreach (var sp in partitions)
            if (sp.Id == id) return sp;
        return null;
    }

    /// <summary>
    /// FFA_MSG_SEND_DIRECT_REQ: w1 the sender (bits [31:16]) and the receiver ([15:0]), w2 flags, w3–w7 the
    /// message. The partition answers with FFA_MSG_SEND_DIRECT_RESP of the same width, sender and receiver swapped.
    /// </summary>
    private void DirectRequest(ref SecureCall call, ushort caller)
    {
        uint w1 = (uint)call.A1, flags = (uint)call.A2;
        ushort sender = (ushort)(w1 >> 16);
        var sp = Partition((ushort)w1);
        if (sp is null || (sp.Properties & FfaAbi.PropDirectRequestReceive) == 0)
        {
            Fail(ref call, FfaAbi.InvalidParameters);
            return;
        }
        if ((flags & FfaAbi.FrameworkMessage) != 0)
        {
            FrameworkMessage(ref call, caller, sp, flags);
            return;
        }
        // A VM speaks for itself only; nobody in the normal world speaks for a secure endpoint.
        if (flags != 0 || (caller != FfaAbi.HypervisorId && sender != caller) || (sender & FfaAbi.SpmcId) != 0)
        {
            Fail(ref call, FfaAbi.InvalidParameters);
            return;
        }
        bool is64 = call.Is64;
        var message = new FfaDirectMessage
        {
            Sender = sender, Is64 = is64,
            A3 = Width(call.A3, is64), A4 = Width(call.A4, is64), A5 = Width(call.A5, is64), A6 = Width(call.A6, is64), A7 = Width(call.A7, is64),
        };
        sp.DirectRequest(this, ref message);
        Set(ref call, is64 ? FfaAbi.MsgSendDirectResp64 : FfaAbi.MsgSendDirectResp32, ((uint)sp.Id << 16) | sender, 0,
            Width(message.A3, is64), Width(message.A4, is64), Width(message.A5, is64), Width(message.A6, is64), Width(message.A7, is64));
    }

    private static ulong Width(ulong value, bool is64) => is64 ? value : (uint)value;

    /// <summary>VM availability messages: only the hypervisor sends them, only to a partition that asked for them.</summary>
    private void FrameworkMessage(ref SecureCall call, ushort caller, ISecurePartition sp, uint flags)
    {
        uint type = flags & FfaAbi.FrameworkTypeMask;
        ushort vm = (ushort)call.A5;
        bool wanted = type switch
        {
            FfaAbi.VmCreatedMessage => (sp.Properties & FfaAbi.PropVmCreated) != 0,
            FfaAbi.VmDestroyedMessage => (sp.Properties & FfaAbi.PropVmDestroyed) != 0,
            _ => false,
        };
        if (caller != FfaAbi.HypervisorId || !wanted || (flags & ~(FfaAbi.FrameworkMessage | FfaAbi.FrameworkTypeMask)) != 0
            || vm == FfaAbi.HypervisorId || (vm & FfaAbi.SpmcId) != 0)
        {
            Fail(ref call, FfaAbi.InvalidParameters);
            return;
        }
        if (type == FfaAbi.VmCreatedMessage) sp.VmCreated(vm);
        else
        {
            sp.VmDestroyed(vm);
            DropEndpoint(vm);
        }
        Set(ref call, FfaAbi.MsgSendDirectResp32, ((uint)sp.Id << 16) | FfaAbi.HypervisorId, FfaAbi.FrameworkMessage | (type + 1), 0);
    }

    /// <summary>Forgets a destroyed VM: its buffers and every share it made, retrieved or not.</summary>
    private void DropEndpoint(ushort vm)
    {
        lock (sharesGate)
        {
            foreach (var share in shares.Values)
                if (share.Sender == vm) shares.Remove(share.Handle);
        }
        clients.TryRemove(vm, out _);
    }

    /// <summary>
    /// FFA_MEM_SHARE: w1 the descriptor's total length, w2 this fragment's, w3/w4 a buffer of the caller's (0: the
    /// TX buffer, the only place this SPMC takes a descriptor from). The descriptor is copied out of the TX buffer
    /// once, checked, and recorded; the answer is FFA_SUCCESS with the handle in w2 (low) and w3 (high).
    /// </summary>
    private void MemShare(ref SecureCall call, ushort caller)
    {
        uint total = (uint)call.A1, fragment = (uint)call.A2;
        ulong buffer = call.Is64 ? call.A3 : (uint)call.A3;
        if (buffer != 0 || (uint)call.A4 != 0 || fragment != total)
        {
            // A descriptor in memory of the caller's own and fragmented descriptors are optional, and not here.
            Fail(ref call, fragment > total ? FfaAbi.InvalidParameters : FfaAbi.NotSupported);
            return;
        }
        if (!clients.TryGetValue(caller, out var client))
        {
            Fail(ref call, FfaAbi.Denied);
            return;
        }
        int status;
        ulong handle = 0;
        lock (client.Gate) status = Share(client, total, out handle);
        if (status != 0) Fail(ref call, status);
        else Succeed(ref call, (uint)handle, handle >> 32);
    }

    private int Share(SpmcClient client, uint total, out ulong handle)
    {
        handle = 0;
        if (client.BufferPages == 0) return FfaAbi.Denied;
        if (total < FfaMemoryTransaction.HeaderSize || total > (uint)client.BufferSize) return FfaAbi.InvalidParameters;
        var copy = client.TxCopy.AsSpan(0, (int)total);
        if (memory.Read(client.Tx, copy) != MemoryStatus.Ok) return FfaAbi.Aborted;
        int status = FfaMemoryTransaction.Parse(copy, options.MaxReceivers, options.MaxRangesPerShare, out var t);
        if (status == 0) status = t.CheckShare();
        if (status != 0) return status;
        if (t.Sender != client.Id) return FfaAbi.InvalidParameters;
        for (int i = 0; i < t.ReceiverCount; i++)
            if (Partition(t.Receiver(i)) is null) return FfaAbi.InvalidParameters;
        if (t.TotalPages > (uint)options.MaxPagesPerShare || client.Handles.Count >= options.MaxSharesPerEndpoint
            || client.SharedPages.Count + (long)t.TotalPages > options.MaxSharedPagesPerEndpoint)
            return FfaAbi.NoMemory;
        for (int i = 0; i < t.RangeCount; i++)
            if (memory.Check(t.RangeAddress(i), (ulong)t.RangePages(i) << 12) != MemoryStatus.Ok) return FfaAbi.Denied;
        // A page is shared once at a time: one of an earlier share is DENIED, one named twice here malformed.
        for (int i = 0; i < t.RangeCount; i++)
            for (uint p = 0; p < t.RangePages(i); p++)
                if (client.SharedPages.Contains(t.RangeAddress(i) + ((ulong)p << 12))) return FfaAbi.Denied;
        if (!AddPages(client.SharedPages, in t))
            return FfaAbi.InvalidParameters;

        var ranges = new (ulong, uint)[t.RangeCount];
        for (int i = 0; i < ranges.Length; i++) ranges[i] = (t.RangeAddress(i), t.RangePages(i));
        var receivers = new ushort[t.ReceiverCount];
        var permissions = new byte[t.ReceiverCount];
        for (int i = 0; i < receivers.Length; i++)
        {
            receivers[i] = t.Receiver(i);
            permissions[i] = t.Permissions(i);
        }
        handle = (ulong)Interlocked.Increment(ref lastHandle);
        var share = new FfaShare(handle, client.Id, receivers, permissions, ranges, t.TotalPages);
        lock (sharesGate) shares.Add(handle, share);
        client.Handles.Add(handle);
        return 0;
    }

    /// <summary>Adds every page of the transaction to <paramref name="pages"/>; on a page named twice takes back what it added and fails.</summary>
    private static bool AddPages(HashSet<ulong> pages, in FfaMemoryTransaction t)
    {
        for (int i = 0; i < t.RangeCount; i++)
            for (uint p = 0; p < t.RangePages(i); p++)
            {
                if (pages.Add(t.RangeAddress(i) + ((ulong)p << 12))) continue;
                RemovePages(pages, in t, i, p);
                return false;
            }
        return true;
    }

    /// <summary>Removes the pages of ranges before <paramref name="range"/> and the first <paramref name="page"/> of it.</summary>
    private static void RemovePages(HashSet<ulong> pages, in FfaMemoryTransaction t, int range, uint page)
    {
        for (int i = 0; i <= range; i++)
            for (uint p = 0; p < (i < range ? t.RangePages(i) : page); p++)
                pages.Remove(t.RangeAddress(i) + ((ulong)p << 12));
    }

    /// <summary>FFA_MEM_RECLAIM: w1/w2 the handle, w3 flags (bit 0: zero the memory). Only its sender reclaims a share, and only once no receiver holds it.</summary>
    private void MemReclaim(ref SecureCall call, ushort caller)
    {
        ulong handle = (uint)call.A1 | ((ulong)(uint)call.A2 << 32);
        uint flags = (uint)call.A3;
        if ((flags & ~FfaAbi.ReclaimZeroMemory) != 0 || !clients.TryGetValue(caller, out var client))
        {
            Fail(ref call, FfaAbi.InvalidParameters);
            return;
        }
        int status;
        lock (client.Gate) status = Reclaim(client, handle, (flags & FfaAbi.ReclaimZeroMemory) != 0);
        if (status != 0) Fail(ref call, status);
        else Succeed(ref call);
    }

    private int Reclaim(SpmcClient client, ulong handle, bool zero)
    {
        if (!client.Handles.Contains(handle)) return FfaAbi.InvalidParameters;
        FfaShare share;
        lock (sharesGate)
        {
            if (!shares.TryGetValue(handle, out share!)) return FfaAbi.InvalidParameters;
            if (share.Retrieved != 0) return FfaAbi.Denied;
            shares.Remove(handle);
        }
        client.Handles.Remove(handle);
        foreach (var (address, pages) in share.Ranges)
            for (uint p = 0; p < pages; p++)
            {
                ulong page = address + ((ulong)p << 12);
                client.SharedPages.Remove(page);
                if (zero) memory.Write(page, ZeroPage);
            }
        return 0;
    }

    private static readonly byte[] ZeroPage = new byte[FfaAbi.PageSize];

    // The partitions' side of shares. A partition retrieves a share only when the VM that made it asks it to, in
    // a direct request: the handle alone, which any VM could guess, is not enough.

    /// <summary>
    /// <paramref name="partition"/> retrieves the share <paramref name="handle"/> for <paramref name="vm"/>'s request:
    /// 0 with its size in pages, INVALID_PARAMETERS if the VM made no such share, DENIED if it is not shared with
    /// the partition or the partition holds it already.
    /// </summary>
    public int Retrieve(ISecurePartition partition, ushort vm, ulong handle, out uint pages)
    {
        pages = 0;
        lock (sharesGate)
        {
            if (!shares.TryGetValue(handle, out var share) || share.Sender != vm) return FfaAbi.InvalidParameters;
            int index = share.ReceiverIndex(partition.Id);
            if (index < 0 || (share.Retrieved & (1u << index)) != 0) return FfaAbi.Denied;
            share.Retrieved |= 1u << index;
            pages = share.TotalPages;
            return 0;
        }
    }

    /// <summary>The partition lets go of a share it retrieved; the sender may reclaim it once nobody holds it.</summary>
    public int Relinquish(ISecurePartition partition, ushort vm, ulong handle)
    {
        lock (sharesGate)
        {
            if (!Held(partition, vm, handle, out var share, out int index)) return FfaAbi.InvalidParameters;
            share.Retrieved &= ~(1u << index);
            return 0;
        }
    }

    /// <summary>Reads bytes of a share the partition holds, at <paramref name="offset"/> in the region.</summary>
    public int ReadShared(ISecurePartition partition, ushort vm, ulong handle, ulong offset, Span<byte> destination)
    {
        lock (sharesGate)
            return Held(partition, vm, handle, out var share, out _) ? Transfer(share, offset, destination.Length, destination, default) : FfaAbi.Denied;
    }

    /// <summary>Writes bytes of a share the partition holds read-write.</summary>
    public int WriteShared(ISecurePartition partition, ushort vm, ulong handle, ulong offset, ReadOnlySpan<byte> source)
    {
        lock (sharesGate)
        {
            if (!Held(partition, vm, handle, out var share, out int index)
                || (share.Permissions[index] & FfaMemoryTransaction.DataAccessMask) != FfaMemoryTransaction.DataReadWrite)
                return FfaAbi.Denied;
            return Transfer(share, offset, source.Length, default, source);
        }
    }

    /// <summary>
    /// Copies <paramref name="length"/> bytes at <paramref name="offset"/> of the region into <paramref name="read"/>,
    /// or from <paramref name="write"/> when that is not empty, range by range of its machine ranges.
    /// </summary>
    private int Transfer(FfaShare share, ulong offset, int length, Span<byte> read, ReadOnlySpan<byte> write)
    {
        if (offset > share.Size || (ulong)length > share.Size - offset) return FfaAbi.InvalidParameters;
        for (int done = 0; done < length;)
        {
            share.Locate(offset + (ulong)done, out ulong address, out ulong contiguous);
            int chunk = (int)Math.Min(contiguous, (ulong)(length - done));
            var status = write.IsEmpty ? memory.Read(address, read.Slice(done, chunk)) : memory.Write(address, write.Slice(done, chunk));
            if (status != MemoryStatus.Ok) return FfaAbi.Aborted;
            done += chunk;
        }
        return 0;
    }

    private bool Held(ISecurePartition partition, ushort vm, ulong handle, out FfaShare share, out int index)
    {
        index = -1;
        if (!shares.TryGetValue(handle, out share!) || share.Sender != vm) return false;
        index = share.ReceiverIndex(partition.Id);
        return index >= 0 && (share.Retrieved & (1u << index)) != 0;
    }
}
