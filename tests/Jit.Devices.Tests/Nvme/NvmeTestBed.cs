using System.Buffers.Binary;
using Jit.Devices.Nvme;
using Jit.Devices.Pci;
using Jit.Devices.Storage;
using Jit.Devices.Tests.Pci;
using Jit.Devices.Tests.Virtio;

namespace Jit.Devices.Tests.Nvme;

/// <summary>A completion entry as the host reads it (NVMe 1.4 4.6).</summary>
public readonly record struct Completion(uint Dword0, ushort SqHead, ushort SqId, ushort CommandId, bool Phase, ushort Status, bool DoNotRetry)
{
    public static Completion Parse(ReadOnlySpan<byte> e)
    {
        uint dw2 = BinaryPrimitives.ReadUInt32LittleEndian(e[8..]), dw3 = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
        return new(BinaryPrimitives.ReadUInt32LittleEndian(e), (ushort)dw2, (ushort)(dw2 >> 16), (ushort)dw3, (dw3 >> 16 & 1) != 0,
            (ushort)(dw3 >> 17 & 0x7FF), dw3 >> 31 != 0);
    }

    public NvmeStatus Outcome => (NvmeStatus)Status;
}

/// <summary>
/// An NVMe controller on a host bridge in a small guest, and a driver that does what Linux's nvme driver does:
/// size and place BAR 0, turn on MSI-X, program the admin queue, enable, create I/O queue pairs, submit commands
/// and reap completions by their phase tag.
/// </summary>
public sealed class NvmeTestBed : IDisposable
{
    public const ulong Bar0 = TestLayout.MemBase + 0x10_0000;
    public const uint CcEnable = 1, CcEntrySizes = 6 << 16 | 4 << 20;

    public readonly GuestRam Ram = new();
    public readonly RecordingMsiSink Msi = new();
    public readonly RecordingLine[] Intx = [new(), new(), new(), new()];
    public readonly PciHostBridge Bridge;
    public readonly NvmeController Controller;
    public readonly ConfigPort Config;
    public QueuePair Admin = null!;

    public NvmeTestBed(IBlockImage image, string serial = "JIT-TEST-0001", int ioQueues = NvmeController.DefaultIoQueues)
    {
        Bridge = new PciHostBridge(TestLayout.Create(), Msi, Intx);
        Controller = new NvmeController(image, Ram.Memory, serial, ioQueues);
        Bridge.Register(0, 1, 0, Controller);
        Config = new ConfigPort(Bridge, 0, 1, 0);
    }

    /// <summary>The INTx line of 00:01.0, pin A.</summary>
    public RecordingLine Line => Intx[1];

    private PciMemoryWindow Mem => Bridge.MemoryWindows[0];
    public ulong R(ulong offset, int size) { Assert.True(Mem.Read(Bar0 + offset - TestLayout.MemBase, size, out ulong v)); return v; }
    public void W(ulong offset, int size, ulong value) => Assert.True(Mem.Write(Bar0 + offset - TestLayout.MemBase, size, value));

    public uint Csts => (uint)R(NvmeRegisters.Csts, 4);

    /// <summary>Sizes and places BAR 0, turns on memory decoding and bus mastering.</summary>
    public void Probe()
    {
        var (size, wide) = Config.SizeBar(0);
        Assert.Equal(NvmeController.RegisterBarSize, size);
        Assert.True(wide);
        Config.AssignBar(0, Bar0, true);
        Config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster);
    }

    /// <summary>Programs every vector to the doorbell with data 0x100 + vector, unmasked, and enables MSI-X.</summary>
    public void EnableMsix()
    {
        int cap = Config.FindCapability(0x11);
        int vectors = (Config.Read16(cap + 2) & 0x7FF) + 1;
        uint tableBir = Config.Read32(cap + 4);
        Assert.Equal(0u, tableBir & 7);
        for (int v = 0; v < vectors; v++)
        {
            ulong entry = (tableBir & ~7u) + 16 * (ulong)v;
            W(entry, 4, (uint)RecordingMsiSink.Doorbell);
            W(entry + 4, 4, RecordingMsiSink.Doorbell >> 32);
            W(entry + 8, 4, 0x100 + (uint)v);
            W(entry + 12, 4, 0);
        }
        Config.Write16(cap + 2, 0x8000);
    }

    public void MaskMsixVector(int vector, bool masked)
    {
        uint tableBir = Config.Read32(Config.FindCapability(0x11) + 4);
        W((tableBir & ~7u) + 16 * (ulong)vector + 12, 4, masked ? 1u : 0);
    }

    /// <summary>AQA, ASQ, ACQ, then CC.EN with 64/16-byte entries and pages of 4 KiB &lt;&lt; <paramref name="mps"/>; the admin queue pair.</summary>
    public QueuePair Enable(uint adminEntries = 32, int mps = 0, bool expectReady = true)
    {
        ulong page = 4096UL << mps;
        ulong sq = Ram.Alloc(64 * adminEntries, page), cq = Ram.Alloc(16 * adminEntries, page);
        return EnableAt(sq, cq, adminEntries, mps, expectReady);
    }

    public QueuePair EnableAt(ulong sq, ulong cq, uint adminEntries, int mps = 0, bool expectReady = true)
    {
        if (cq >= GuestRam.Base && cq < GuestRam.Base + GuestRam.Size) Ram.Write(cq, new byte[16 * adminEntries]);
        W(NvmeRegisters.Aqa, 4, (adminEntries - 1) | (adminEntries - 1) << 16);
        W(NvmeRegisters.Asq, 8, sq);
        W(NvmeRegisters.Acq, 8, cq);
        W(NvmeRegisters.Cc, 4, CcEnable | CcEntrySizes | (uint)mps << 7);
        if (expectReady) Assert.Equal(1u, Csts & 3);
        Admin = new QueuePair(this, 0, sq, adminEntries, cq, adminEntries);
        return Admin;
    }

    public void Disable()
    {
        W(NvmeRegisters.Cc, 4, CcEntrySizes);
        Assert.Equal(0u, Csts & 1);
    }

    /// <summary>Submits one admin command and takes its completion.</summary>
    public Completion AdminCommand(byte opcode, uint nsid = 0, ulong prp1 = 0, ulong prp2 = 0, uint cdw10 = 0, uint cdw11 = 0,
        uint cdw12 = 0, uint cdw13 = 0)
    {
        ushort cid = Admin.Submit(opcode, nsid, prp1, prp2, cdw10, cdw11, cdw12, cdw13);
        var c = Admin.Take();
        Assert.Equal(cid, c.CommandId);
        return c;
    }

    public byte[] Identify(byte cns, uint nsid = 0, NvmeStatus expect = NvmeStatus.Success)
    {
        ulong data = Ram.Alloc(4096);
        var c = AdminCommand(AdminOpcode.Identify, nsid, data, 0, cns);
        Assert.Equal(expect, c.Outcome);
        return Ram.Read(data, 4096);
    }

    public Completion SetFeature(byte id, uint value) => AdminCommand(AdminOpcode.SetFeatures, 0, 0, 0, id, value);
    public Completion GetFeature(byte id, uint cdw11 = 0, uint select = 0) => AdminCommand(AdminOpcode.GetFeatures, 0, 0, 0, id | select << 8, cdw11);

    /// <summary>Create I/O Completion Queue then Create I/O Submission Queue, both with <paramref name="entries"/> entries.</summary>
    public QueuePair CreateIoQueues(ushort id, uint entries = 64, ushort vector = 0, bool interrupts = true, uint? sqEntries = null,
        ulong align = 4096)
    {
        uint sqSize = sqEntries ?? entries;
        ulong cq = Ram.Alloc(16 * entries, align), sq = Ram.Alloc(64 * sqSize, align);
        var created = AdminCommand(AdminOpcode.CreateIoCompletionQueue, 0, cq, 0, id | (entries - 1) << 16,
            1u | (interrupts ? 2u : 0) | (uint)vector << 16);
        Assert.Equal(NvmeStatus.Success, created.Outcome);
        created = AdminCommand(AdminOpcode.CreateIoSubmissionQueue, 0, sq, 0, id | (sqSize - 1) << 16, 1u | (uint)id << 16);
        Assert.Equal(NvmeStatus.Success, created.Outcome);
        return new QueuePair(this, id, sq, sqSize, cq, entries);
    }

    /// <summary>Linux's bring-up: probe, MSI-X, enable, Number of Queues, one I/O queue pair on vector 1.</summary>
    public QueuePair Start(uint ioEntries = 64)
    {
        Probe();
        EnableMsix();
        Enable();
        Assert.Equal(NvmeStatus.Success, SetFeature(FeatureId.NumberOfQueues, 7 | 7 << 16).Outcome);
        return CreateIoQueues(1, ioEntries, vector: 1);
    }

    public void Dispose() => Ram.Dispose();
}

/// <summary>The host's side of a submission queue and its completion queue.</summary>
public sealed class QueuePair(NvmeTestBed bed, ushort id, ulong sq, uint sqEntries, ulong cq, uint cqEntries)
{
    private uint sqTail, cqHead;
    private bool phase = true;
    private ushort nextCommandId = 0x40;

    public ushort Id => id;
    public ulong SubmissionBase => sq;
    public ulong CompletionBase => cq;
    public uint SqEntries => sqEntries;
    public uint CqEntries => cqEntries;
    public ulong SqDoorbell => NvmeController.DoorbellOffset + 8UL * id;
    public ulong CqDoorbell => SqDoorbell + 4;

    /// <summary>Writes a command at the tail; rings the tail doorbell unless <paramref name="ring"/> is false.</summary>
    public ushort Submit(byte opcode, uint nsid = 0, ulong prp1 = 0, ulong prp2 = 0, uint cdw10 = 0, uint cdw11 = 0, uint cdw12 = 0,
        uint cdw13 = 0, bool ring = true, ushort? commandId = null)
    {
        ushort cid = commandId ?? nextCommandId++;
        var e = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(e, opcode | (uint)cid << 16);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), nsid);
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(24), prp1);
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(32), prp2);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(40), cdw10);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(44), cdw11);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(48), cdw12);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(52), cdw13);
        SubmitRaw(e, ring);
        return cid;
    }

    public void SubmitRaw(ReadOnlySpan<byte> entry, bool ring = true)
    {
        bed.Ram.Write(sq + 64UL * sqTail, entry);
        sqTail = (sqTail + 1) % sqEntries;
        if (ring) Ring();
    }

    public void Ring() => bed.W(SqDoorbell, 4, sqTail);

    /// <summary>The next completion if its phase tag says it is new; consumes it (the head doorbell is rung separately).</summary>
    public bool TryPoll(out Completion completion)
    {
        completion = Completion.Parse(bed.Ram.Read(cq + 16UL * cqHead, 16));
        if (completion.Phase != phase) return false;
        cqHead = (cqHead + 1) % cqEntries;
        if (cqHead == 0) phase = !phase;
        return true;
    }

    public void ReleaseCompletions() => bed.W(CqDoorbell, 4, cqHead);

    public Completion Take()
    {
        Assert.True(TryPoll(out var c), $"no completion on queue {id}");
        ReleaseCompletions();
        return c;
    }

    public bool HasCompletion => Completion.Parse(bed.Ram.Read(cq + 16UL * cqHead, 16)).Phase == phase;

    /// <summary>Read or Write of <paramref name="blocks"/> 512-byte blocks at <paramref name="lba"/>; the completion.</summary>
    public Completion Io(byte opcode, ulong lba, uint blocks, ulong prp1, ulong prp2 = 0, uint nsid = 1, uint cdw12Flags = 0)
    {
        ushort cid = Submit(opcode, nsid, prp1, prp2, (uint)lba, (uint)(lba >> 32), (blocks - 1) | cdw12Flags);
        var c = Take();
        Assert.Equal(cid, c.CommandId);
        Assert.Equal(id, c.SqId);
        return c;
    }
}

/// <summary>An image decorator that counts flushes and writes, and can fail requests.</summary>
public sealed class CountingImage(IBlockImage inner) : IBlockImage
{
    public int Flushes, Writes;
    public BlockStatus FailWith = BlockStatus.Ok;

    public string Path => inner.Path;
    public ulong Size => inner.Size;
    public bool ReadOnly => inner.ReadOnly;

    public BlockStatus Read(ulong offset, Span<byte> buffer) => FailWith != BlockStatus.Ok ? FailWith : inner.Read(offset, buffer);

    public BlockStatus Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (FailWith != BlockStatus.Ok) return FailWith;
        Writes++;
        return inner.Write(offset, data);
    }

    public BlockStatus Flush()
    {
        Flushes++;
        return FailWith != BlockStatus.Ok ? FailWith : inner.Flush();
    }

    public void Dispose() => inner.Dispose();
}
