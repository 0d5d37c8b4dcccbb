using Jit.Devices.Gic;
using Jit.Runtime;

namespace Jit.Devices.Smmu;

/// <summary>
/// The register file (IHI 0070, chapter 6): page 0 at 0x0 and page 1 at 0x10000, which holds SMMU_EVENTQ_PROD and
/// SMMU_EVENTQ_CONS. 32-bit registers take 4-byte accesses; the 64-bit ones (the three bases and the two
/// IRQ_CFG0s) take 8 bytes or either 4-byte half. Other sizes or misaligned accesses are rejected; unallocated
/// offsets read zero and ignore writes. A base register written while its queue or the SMMU is enabled keeps its
/// value, and so does SMMU_EVENTQ_PROD while the event queue is on and SMMU_CMDQ_CONS while the command queue is.
/// </summary>
public sealed partial class SmmuV3
{
    private const ulong Idr0 = 0x00, Idr1 = 0x04, Idr2 = 0x08, Idr3 = 0x0C, Idr4 = 0x10, Idr5 = 0x14, Iidr = 0x18, Aidr = 0x1C,
        Cr0 = 0x20, Cr0Ack = 0x24, Cr1 = 0x28, Cr2 = 0x2C, Statusr = 0x40, Gbpa = 0x44, Agbpa = 0x48,
        IrqCtrl = 0x50, IrqCtrlAck = 0x54, Gerror = 0x60, Gerrorn = 0x64,
        GerrorIrqCfg0 = 0x68, GerrorIrqCfg1 = 0x70, GerrorIrqCfg2 = 0x74,
        StrtabBase = 0x80, StrtabBaseCfg = 0x88, CmdqBase = 0x90, CmdqProd = 0x98, CmdqCons = 0x9C,
        EventqBase = 0xA0, EventqIrqCfg0 = 0xB0, EventqIrqCfg1 = 0xB8, EventqIrqCfg2 = 0xBC,
        Page1 = 0x10000, EventqProd = Page1 + 0xA8, EventqCons = Page1 + 0xAC;

    // SMMU_IDR0 (6.3.1): S2P, S1P, TTF = AArch64, COHACC, ASID16, MSI, SEV, VMID16, CD2L, TTENDIAN = little,
    // STALL_MODEL = 0b01 (no stalls), TERM_MODEL = 1 (terminated accesses abort), ST_LEVEL = 0b01 (2-level).
    private const uint Idr0Value = 1u << 0 | 1u << 1 | 2u << 2 | 1u << 4 | 1u << 12 | 1u << 13 | 1u << 14 | 1u << 18 | 1u << 19
        | 2u << 21 | 1u << 24 | 1u << 26 | 1u << 27;
    // SMMU_IDR1 (6.3.2): SIDSIZE, SSIDSIZE, EVENTQS, CMDQS, ATTR_PERMS_OVR (STE.PRIVCFG is honoured); no PRI queue.
    private const uint Idr1Value = StreamIdBits | SubstreamIdBits << 6 | EventQueueMaxLog2 << 16 | CommandQueueMaxLog2 << 21 | 1u << 26;
    // SMMU_IDR3 (6.3.4): RIL, range invalidation and the TTL hint. Linux sends one TLBI per 4 KiB page it unmaps without it.
    private const uint Idr3Value = 1u << 10;
    // SMMU_IDR5 (6.3.6): OAS = 48 bits, GRAN4K, GRAN16K, GRAN64K; VAX = 48-bit VAs; STALL_MAX = 0.
    private const uint Idr5Value = 0b101 | 1u << 4 | 1u << 5 | 1u << 6;

    private const uint Cr0SmmuEn = 1 << 0, Cr0EventqEn = 1 << 2, Cr0CmdqEn = 1 << 3;
    private const uint Cr0Writable = Cr0SmmuEn | Cr0EventqEn | Cr0CmdqEn; // PRIQEN, ATSCHK, VMW are RES0 here
    private const uint Cr1Writable = 0xFFF;
    private const uint Cr2RecInvSid = 1 << 1, Cr2Ptm = 1 << 2, Cr2Writable = Cr2RecInvSid | Cr2Ptm; // E2H is RES0 without Hyp
    private const uint GbpaUpdate = 1u << 31, GbpaAbort = 1 << 20, GbpaShcfgIncoming = 1 << 12, GbpaWritable = 0x001F_3F1F;
    private const uint IrqCtrlGerrorEn = 1 << 0, IrqCtrlEventqEn = 1 << 2, IrqCtrlWritable = IrqCtrlGerrorEn | IrqCtrlEventqEn;

    // SMMU_GERROR (6.3.16): CMDQ_ERR, EVENTQ_ABT_ERR, MSI_CMDQ_ABT_ERR, MSI_EVENTQ_ABT_ERR, MSI_GERROR_ABT_ERR, SFM_ERR.
    private const uint GerrorCmdq = 1 << 0, GerrorEventqAbort = 1 << 2, GerrorMsiCmdqAbort = 1 << 4, GerrorMsiEventqAbort = 1 << 5,
        GerrorMsiGerrorAbort = 1 << 7, GerrorDefined = 0x3FD;

    private const uint EventqOverflow = 1u << 31;

    private readonly uint resetGbpa;
    private uint cr0, cr1, cr2, gbpa, irqCtrl, gerror, gerrorn;
    private ulong strtabBase;
    private uint strtabCfg;
    private SmmuQueue commandQueue = new(CommandQueueMaxLog2, SmmuCommand.Size);
    private SmmuQueue eventQueue = new(EventQueueMaxLog2, SmmuEvent.Size);
    private byte commandError;
    private bool eventOverflow, eventOverflowAcknowledged;
    private IrqConfig gerrorIrq, eventIrq;

    /// <summary>The configuration of one MSI: SMMU_*_IRQ_CFG0 ADDR [51:2], CFG1 DATA, CFG2 SH [5:4] and MEMATTR [3:0].</summary>
    private struct IrqConfig
    {
        public const ulong AddressWritable = 0x000F_FFFF_FFFF_FFFCUL;
        public ulong Address;
        public uint Data, Attributes;
    }

    /// <summary>Every register to its reset value (6.3): the SMMU disabled, queues off, bypass unless GBPA.ABORT was asked for.</summary>
    private void Reset()
    {
        cr0 = cr1 = cr2 = irqCtrl = gerror = gerrorn = 0;
        gbpa = resetGbpa;
        strtabBase = 0;
        strtabCfg = 0;
        commandQueue.Base = 0;
        commandQueue.Producer = commandQueue.Consumer = 0;
        eventQueue.Base = 0;
        eventQueue.Producer = eventQueue.Consumer = 0;
        commandError = 0;
        eventOverflow = eventOverflowAcknowledged = false;
        gerrorIrq = eventIrq = default;
        DropCachedConfiguration();
    }

    private static bool Is64BitRegister(ulong register) =>
        register is GerrorIrqCfg0 or StrtabBase or CmdqBase or EventqBase or EventqIrqCfg0;

    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        lock (gate)
        {
            ulong register = offset & ~7UL;
            if (Is64BitRegister(register)) return Register64.Read(Read64(register), offset & 7, size, out value);
            if (size != 4 || (offset & 3) != 0) return false;
            value = Read32(offset);
            return true;
        }
    }

    private ulong Read64(ulong register) => register switch
    {
        GerrorIrqCfg0 => gerrorIrq.Address,
        StrtabBase => strtabBase,
        CmdqBase => commandQueue.Base,
        EventqBase => eventQueue.Base,
        EventqIrqCfg0 => eventIrq.Address,
        _ => 0,
    };

    private uint Read32(ulong offset) => offset switch
    {
        Idr0 => Idr0Value,
        Idr1 => Idr1Value,
        Idr3 => Idr3Value,
        Idr5 => Idr5Value,
        Idr2 or Idr4 or Iidr or Aidr => 0,
        Cr0 or Cr0Ack => cr0,
        Cr1 => cr1,
        Cr2 => cr2,
        Statusr => 0,
        Gbpa => gbpa,
        IrqCtrl or IrqCtrlAck => irqCtrl,
        Gerror => gerror,
        Gerrorn => gerrorn,
        GerrorIrqCfg1 => gerrorIrq.Data,
        GerrorIrqCfg2 => gerrorIrq.Attributes,
        StrtabBaseCfg => strtabCfg,
        CmdqProd => commandQueue.Producer,
        CmdqCons => commandQueue.Consumer | (uint)commandError << 24,
        EventqIrqCfg1 => eventIrq.Data,
        EventqIrqCfg2 => eventIrq.Attributes,
        EventqProd => eventQueue.Producer | (eventOverflow ? EventqOverflow : 0),
        EventqCons => eventQueue.Consumer | (eventOverflowAcknowledged ? EventqOverflow : 0),
        _ => 0,
    };

    public bool Write(ulong offset, int size, ulong value)
    {
        lock (gate)
        {
            ulong register = offset & ~7UL;
            if (Is64BitRegister(register))
            {
                if (!Register64.Merge(Read64(register), offset & 7, size, value, out ulong merged)) return false;
                Write64(register, merged);
                return true;
            }
            if (size != 4 || (offset & 3) != 0) return false;
            Write32(offset, (uint)value);
            return true;
        }
    }

    private void Write64(ulong register, ulong value)
    {
        switch (register)
        {
            case GerrorIrqCfg0: gerrorIrq.Address = value & IrqConfig.AddressWritable; break;
            case EventqIrqCfg0: eventIrq.Address = value & IrqConfig.AddressWritable; break;
            case StrtabBase:
                if ((cr0 & Cr0SmmuEn) != 0) Ignored("strtab", "SMMU_STRTAB_BASE written while SMMUEN = 1");
                else strtabBase = value & StrtabBaseWritable;
                break;
            case CmdqBase:
                if ((cr0 & Cr0CmdqEn) != 0) Ignored("cmdq-base", "SMMU_CMDQ_BASE written while CMDQEN = 1");
                else commandQueue.Base = value & SmmuQueue.BaseWritable;
                break;
            case EventqBase:
                if ((cr0 & Cr0EventqEn) != 0) Ignored("eventq-base", "SMMU_EVENTQ_BASE written while EVENTQEN = 1");
                else eventQueue.Base = value & SmmuQueue.BaseWritable;
                break;
        }
    }

    private void Write32(ulong offset, uint value)
    {
        switch (offset)
        {
            case Cr0: WriteCr0(value & Cr0Writable); break;
            case Cr1: cr1 = value & Cr1Writable; break;
            case Cr2: cr2 = value & Cr2Writable; break;
            case Gbpa:
                // 6.3.14: fields take effect on a write with UPDATE = 1, which completes at once (reads show UPDATE = 0).
                if ((value & GbpaUpdate) != 0) gbpa = value & GbpaWritable;
                break;
            case IrqCtrl: irqCtrl = value & IrqCtrlWritable; break;
            case Gerrorn: WriteGerrorn(value & GerrorDefined); break;
            case GerrorIrqCfg1: gerrorIrq.Data = value; break;
            case GerrorIrqCfg2: gerrorIrq.Attributes = value & 0x3F; break;
            case EventqIrqCfg1: eventIrq.Data = value; break;
            case EventqIrqCfg2: eventIrq.Attributes = value & 0x3F; break;
            case StrtabBaseCfg:
                if ((cr0 & Cr0SmmuEn) != 0) Ignored("strtab", "SMMU_STRTAB_BASE_CFG written while SMMUEN = 1");
                else strtabCfg = value & StrtabCfgWritable;
                break;
            case CmdqProd:
                commandQueue.Producer = value & SmmuQueue.IndexWritable;
                ProcessCommands();
                break;
            case CmdqCons:
                if ((cr0 & Cr0CmdqEn) != 0) Ignored("cmdq-cons", "SMMU_CMDQ_CONS written while CMDQEN = 1");
                else
                {
                    commandQueue.Consumer = value & SmmuQueue.IndexWritable;
                    commandError = (byte)((value >> 24) & 0x7F);
                }
                break;
            case EventqProd:
                if ((cr0 & Cr0EventqEn) != 0) Ignored("eventq-prod", "SMMU_EVENTQ_PROD written while EVENTQEN = 1");
                else
                {
                    eventQueue.Producer = value & SmmuQueue.IndexWritable;
                    eventOverflow = (value & EventqOverflow) != 0;
                }
                break;
            case EventqCons:
                eventQueue.Consumer = value & SmmuQueue.IndexWritable;
                eventOverflowAcknowledged = (value & EventqOverflow) != 0;
                break;
        }
    }

    private void WriteCr0(uint value)
    {
        uint old = cr0;
        cr0 = value;
        // Disabling or enabling translation drops everything cached: the tables may have been rewritten meanwhile.
        if (((old ^ value) & Cr0SmmuEn) != 0) DropCachedConfiguration();
        if ((value & ~old & Cr0CmdqEn) != 0) ProcessCommands();
    }

    private void WriteGerrorn(uint value)
    {
        uint wasActive = gerror ^ gerrorn;
        gerrorn = value;
        // 7.1: acknowledging CMDQ_ERR lets the queue go on from SMMU_CMDQ_CONS, which still names the failed command.
        if ((wasActive & ~(gerror ^ gerrorn) & GerrorCmdq) != 0) ProcessCommands();
    }

    /// <summary>Makes global errors <paramref name="bits"/> active (GERROR differs from GERRORN) and signals the ones that were not.</summary>
    private void RaiseGlobalError(uint bits)
    {
        uint newlyActive = bits & ~(gerror ^ gerrorn);
        if (newlyActive == 0) return;
        gerror ^= newlyActive;
        if ((irqCtrl & IrqCtrlGerrorEn) == 0) return;
        if (gerrorIrq.Address == 0) Pulse(GlobalErrorInterrupt);
        else if (!SendMsi(gerrorIrq.Address, gerrorIrq.Data) && ((gerror ^ gerrorn) & GerrorMsiGerrorAbort) == 0)
            gerror ^= GerrorMsiGerrorAbort; // 7.5: the GERROR MSI's own failure is recorded, not signalled
    }

    private static void Ignored(string key, string message) => Log.Once($"smmu-{key}", $"SMMUv3: {message}: ignored");
}
