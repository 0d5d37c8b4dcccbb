using System.Buffers.Binary;
using Jit.Runtime.Memory;

namespace Jit.Devices.Smmu;

/// <summary>One 16-byte command (IHI 0070, 4.1): the opcode in bits [7:0] of dword 0, the operands where each command puts them.</summary>
internal readonly struct SmmuCommand(ulong dword0, ulong dword1)
{
    public const int Size = 16;

    public const byte PrefetchConfig = 0x01, PrefetchAddr = 0x02, CfgiSte = 0x03, CfgiSteRange = 0x04, CfgiCd = 0x05,
        CfgiCdAll = 0x06, CfgiVmsPidm = 0x07, TlbiNhAll = 0x10, TlbiNhAsid = 0x11, TlbiNhVa = 0x12, TlbiNhVaa = 0x13,
        TlbiEl3All = 0x18, TlbiEl3Va = 0x1A, TlbiEl2All = 0x20, TlbiEl2Asid = 0x21, TlbiEl2Va = 0x22, TlbiEl2Vaa = 0x23,
        TlbiS12Vmall = 0x28, TlbiS2Ipa = 0x2A, TlbiNsnhAll = 0x30, AtcInv = 0x40, PriResp = 0x41, Resume = 0x44,
        StallTerm = 0x45, Sync = 0x46;

    public ulong Dword0 => dword0;
    public ulong Dword1 => dword1;
    public byte Opcode => (byte)dword0;
    /// <summary>SSec [10] of the CFGI and PREFETCH commands: a Secure stream, which a Non-secure queue may not name.</summary>
    public bool SecureStream => (dword0 & (1UL << 10)) != 0;
    public uint StreamId => (uint)(dword0 >> 32);
    public uint SubstreamId => (uint)(dword0 >> 12) & 0xF_FFFF;
    /// <summary>CFGI_STE_RANGE: 2^(Range + 1) StreamIDs, aligned; 31 is CFGI_ALL.</summary>
    public int Range => (int)(dword1 & 0x1F);
    public ushort Vmid => (ushort)(dword0 >> 32);
    public ushort Asid => (ushort)(dword0 >> 48);
    /// <summary>TLBI_NH_VA/VAA: Address [63:12].</summary>
    public ulong VirtualAddress => dword1 & ~0xFFFUL;
    /// <summary>TLBI_S2_IPA: Address [51:12].</summary>
    public ulong IntermediateAddress => dword1 & 0x000F_FFFF_FFFF_F000UL;
    /// <summary>TLBI by address (4.4.1.1): NUM [16:12], the range's granule multiplier minus one.</summary>
    public int RangeNum => (int)(dword0 >> 12) & 0x1F;
    /// <summary>SCALE [24:20]; bit 25 is RES0 without SMMU_IDR5.DS.</summary>
    public int RangeScale => (int)(dword0 >> 20) & 0x1F;
    /// <summary>TTL [73:72], the level hint.</summary>
    public int Ttl => (int)(dword1 >> 8) & 3;
    /// <summary>TG [75:74]: 0 for no range and no hint, else the granule of the entries meant (4, 16 or 64 KiB).</summary>
    public int RangeGranule => (int)(dword1 >> 10) & 3;
    /// <summary>CMD_SYNC: CS [13:12] (0 none, 1 IRQ, 2 SEV), MSIData [63:32], MSIAddress [51:2].</summary>
    public int CompletionSignal => (int)((dword0 >> 12) & 3);
    public uint MsiData => (uint)(dword0 >> 32);
    public ulong MsiAddress => dword1 & 0x000F_FFFF_FFFF_FFFCUL;

    public static SmmuCommand From(ReadOnlySpan<byte> raw) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(raw), BinaryPrimitives.ReadUInt64LittleEndian(raw[8..]));
}

/// <summary>SMMU_CMDQ_CONS.ERR (IHI 0070, 4.7): why the command at CONS was not executed.</summary>
internal enum CommandError : byte
{
    None = 0,
    /// <summary>CERROR_ILL: an unknown opcode, or one this SMMU does not implement, or an illegal operand.</summary>
    Illegal = 1,
    /// <summary>CERROR_ABT: the command could not be read.</summary>
    Abort = 2,
}

/// <summary>
/// The command queue (IHI 0070, chapter 4), consumed synchronously on each SMMU_CMDQ_PROD write (and when the
/// queue is enabled or a command error acknowledged): one method per command, each answering whether the queue
/// goes on. A command that cannot run stops the queue with CONS still naming it, CONS.ERR saying why and
/// SMMU_GERROR.CMDQ_ERR active, until software acknowledges it in SMMU_GERRORN (4.7; Linux replaces the command
/// with a CMD_SYNC first). Illegal here: opcodes not in 4.1, TLBI_EL2_* and TLBI_EL3_* (no Hyp, Non-secure only),
/// ATC_INV and PRI_RESP (no ATS or PRI), CFGI_VMS_PIDM, SSec = 1, CMD_SYNC with CS = 0b11, and a TLBI by address
/// with the Reserved range encoding (4.4.1.1). CMD_RESUME and
/// CMD_STALL_TERM find nothing stalled and do nothing; the PREFETCH commands are hints and do nothing.
/// </summary>
public sealed partial class SmmuV3
{
    private const int SyncSignalNone = 0, SyncSignalIrq = 1, SyncSignalSev = 2;

    private void ProcessCommands()
    {
        if ((cr0 & Cr0CmdqEn) == 0 || ((gerror ^ gerrorn) & GerrorCmdq) != 0) return;
        Span<byte> raw = stackalloc byte[SmmuCommand.Size];
        while (!commandQueue.IsEmpty)
        {
            var error = memory.Read(commandQueue.EntryAddress(commandQueue.Consumer), raw) == GuestMemoryStatus.Ok
                ? Execute(SmmuCommand.From(raw))
                : CommandError.Abort;
            if (error != CommandError.None)
            {
                commandError = (byte)error;
                RaiseGlobalError(GerrorCmdq);
                return;
            }
            commandQueue.Consumer = commandQueue.Next(commandQueue.Consumer);
        }
    }

    private CommandError Execute(in SmmuCommand c)
    {
        switch (c.Opcode)
        {
            case SmmuCommand.PrefetchConfig or SmmuCommand.PrefetchAddr:
                return c.SecureStream ? CommandError.Illegal : CommandError.None;
            case SmmuCommand.CfgiSte or SmmuCommand.CfgiCd or SmmuCommand.CfgiCdAll:
                return CfgiStream(c);
            case SmmuCommand.CfgiSteRange:
                return CfgiSteRange(c);
            case SmmuCommand.TlbiNhAll: tlb.InvalidateStage1(c.Vmid); break;
            case SmmuCommand.TlbiNhAsid: tlb.InvalidateAsid(c.Vmid, c.Asid); break;
            case SmmuCommand.TlbiNhVa or SmmuCommand.TlbiNhVaa or SmmuCommand.TlbiS2Ipa: return TlbiByAddress(c);
            case SmmuCommand.TlbiS12Vmall: tlb.InvalidateVmid(c.Vmid); break;
            case SmmuCommand.TlbiNsnhAll: tlb.InvalidateAll(); break;
            case SmmuCommand.Resume or SmmuCommand.StallTerm: break;
            case SmmuCommand.Sync: return CmdSync(c);
            default: return CommandError.Illegal;
        }
        return CommandError.None;
    }

    /// <summary>CFGI_STE, CFGI_CD, CFGI_CD_ALL: everything cached from the stream's STE and CDs (all its substreams).</summary>
    private CommandError CfgiStream(in SmmuCommand c)
    {
        if (c.SecureStream) return CommandError.Illegal;
        uint streamId = c.StreamId;
        foreach (ulong key in contexts.Keys)
            if ((uint)(key >> 32) == streamId) contexts.Remove(key);
        tlb.InvalidateStream(streamId);
        return CommandError.None;
    }

    /// <summary>CFGI_STE_RANGE (and CFGI_ALL, Range = 31): 2^(Range + 1) StreamIDs from StreamID rounded down to that.</summary>
    private CommandError CfgiSteRange(in SmmuCommand c)
    {
        if (c.SecureStream) return CommandError.Illegal;
        if (c.Range == 31)
        {
            DropCachedConfiguration();
            return CommandError.None;
        }
        uint count = 2u << c.Range, first = c.StreamId & ~(count - 1);
        foreach (ulong key in contexts.Keys)
            if ((uint)(key >> 32) - first < count) contexts.Remove(key);
        tlb.InvalidateStreamRange(first, count);
        return CommandError.None;
    }

    /// <summary>TLBI_NH_VA, TLBI_NH_VAA and TLBI_S2_IPA, by one address or, with TG set, by range.</summary>
    private CommandError TlbiByAddress(in SmmuCommand c)
    {
        bool ipa = c.Opcode == SmmuCommand.TlbiS2Ipa;
        ulong first = ipa ? c.IntermediateAddress : c.VirtualAddress;
        if (!TryAddressRange(c, first, out ulong last)) return CommandError.Illegal;
        switch (c.Opcode)
        {
            case SmmuCommand.TlbiNhVa: tlb.InvalidateVa(c.Vmid, c.Asid, first, last); break;
            case SmmuCommand.TlbiNhVaa: tlb.InvalidateVaAllAsids(c.Vmid, first, last); break;
            default: tlb.InvalidateIpa(c.Vmid, first, last); break;
        }
        return CommandError.None;
    }

    /// <summary>
    /// 4.4.1.1: with TG = 0 one address (NUM, SCALE and TTL are RES0); otherwise (NUM + 1) × 2^SCALE granules of
    /// TG's size from the address, which does not wrap at the top. NUM = SCALE = 0 with no TTL hint is Reserved
    /// (CERROR_ILL), and without SMMU_IDR5.DS a 16 KiB TTL of 1 counts as no hint.
    /// </summary>
    private static bool TryAddressRange(in SmmuCommand c, ulong first, out ulong last)
    {
        last = first;
        int tg = c.RangeGranule;
        if (tg == 0) return true;
        int ttl = tg == 0b10 && c.Ttl == 1 ? 0 : c.Ttl;
        if (c.RangeNum == 0 && c.RangeScale == 0 && ttl == 0) return false;
        int granuleBits = 10 + 2 * tg; // 0b01 4 KiB, 0b10 16 KiB, 0b11 64 KiB
        // At most 32 × 2^31 × 64 KiB = 2^52 bytes: no overflow before the addition.
        ulong bytes = (ulong)(c.RangeNum + 1) << (c.RangeScale + granuleBits);
        last = first + (bytes - 1) < first ? ulong.MaxValue : first + (bytes - 1);
        return true;
    }

    /// <summary>CMD_SYNC: every earlier command is complete already; signal it by MSI, wired interrupt, SEV or not at all.</summary>
    private CommandError CmdSync(in SmmuCommand c)
    {
        switch (c.CompletionSignal)
        {
            case SyncSignalNone or SyncSignalSev:
                return CommandError.None;
            case SyncSignalIrq:
                if (c.MsiAddress == 0) Pulse(CommandSyncInterrupt);
                else if (!SendMsi(c.MsiAddress, c.MsiData)) RaiseGlobalError(GerrorMsiCmdqAbort);
                return CommandError.None;
            default:
                return CommandError.Illegal;
        }
    }
}
