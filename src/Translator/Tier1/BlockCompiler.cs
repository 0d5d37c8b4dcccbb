using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.InteropServices;
using Jit.Runtime;
using Jit.Runtime.Exceptions;
using Jit.Runtime.Memory;
using Jit.Runtime.SystemRegisters;
using Jit.Translator.Decoder;
using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1;

/// <summary>
/// A region compiled to IL. It runs from its entry block at <paramref name="pc"/> (blocks are keyed by physical
/// address, so the virtual PC comes in as an argument), leaves <c>s-&gt;PC</c> at the next instruction to run
/// and returns how many instructions retired. Loops inside the region stop at a back-edge once
/// <paramref name="budget"/> instructions have retired or the exit-request word or an unmasked interrupt asks
/// for the dispatcher. A guest fault has already been taken as the guest's exception by the helper that
/// reported it; the count then excludes the faulting instruction. Called with a null <paramref name="s"/> it
/// returns −1 at once: the background compiler calls it that way to make RyuJIT compile it off the vCPU thread.
/// </summary>
public unsafe delegate int CompiledBlock(CpuState* s, Mmu mmu, TlbEntry* readTlb, TlbEntry* writeTlb, ulong pc, ulong budget);

/// <summary>
/// Compiles a <see cref="Region"/> (each member's leading run of instructions that tier 1 covers) into one
/// DynamicMethod (collectible: it lives as long as the block that holds its delegate).
/// </summary>
/// <remarks>
/// Guest registers the region touches live in IL locals: loaded once at entry, stored back at every exit and
/// before every helper that can take an exception (which reads SP, PC and PSTATE). Flags are kept symbolic
/// after a flag-setting instruction (its operands in locals) and evaluated per consumer (B.cond after CMP is one
/// compare); the packed NZCV is materialised only where a consumer needs it whole and at exits. Across an edge
/// between members the symbolic form survives as a small runtime tag (<c>fkind</c>), so a loop's back-edge costs
/// one store instead of a flag computation.
/// Exits and slow paths (TLB miss, SP alignment, a loop's exit check) are emitted after the body so the hot path
/// falls through, and after it because only then is every register the region writes known.
/// </remarks>
internal sealed unsafe partial class BlockCompiler
{
    private static readonly int XOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.X));
    private static readonly int PcOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.PC));
    private static readonly int NzcvOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.Nzcv));
    private static readonly int ElOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.EL));
    private static readonly int ExitRequestOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.ExitRequest));
    private static readonly int ExclusiveValidOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.ExclusiveValid));
    private static readonly int RetiredOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.Retired));
    private static readonly int IrqPendingOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.IrqPending));
    private static readonly int SctlrOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.SctlrEl1));
    private static readonly int SpSelOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.SPSel));
    private static readonly int SpEl0Offset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.SpEl0));
    private static readonly int TpidrEl1Offset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.TpidrEl1));
    private static readonly int TpidrEl0Offset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.TpidrEl0));
    private static readonly int TpidrroEl0Offset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.TpidrroEl0));
    private static readonly int DaifOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.Daif));

    private static readonly MethodInfo ReadDeferred = Emitter.Method(typeof(Mmu), nameof(Mmu.ReadDeferred), typeof(ulong), typeof(int), typeof(uint), typeof(ulong));
    private static readonly FieldInfo MmuLoaded = typeof(Mmu).GetField(nameof(Mmu.Loaded))!;
    private static readonly MethodInfo WriteDeferred = Emitter.Method(typeof(Mmu), nameof(Mmu.WriteDeferred), typeof(ulong), typeof(int), typeof(uint), typeof(ulong), typeof(ulong));
    private static readonly MethodInfo ZeroBlockDeferred = Emitter.Method(typeof(Mmu), nameof(Mmu.ZeroBlockDeferred), typeof(ulong), typeof(uint), typeof(ulong));
    private static readonly MethodInfo MemoryBarrier = Emitter.Method(typeof(Interlocked), nameof(Interlocked.MemoryBarrier));
    private static readonly MethodInfo TakeDeferredAbort = Emitter.Method(typeof(Mmu), nameof(Mmu.TakeDeferredAbort));

    // Argument 0 is the RegionClosure the delegate is bound to; the delegate's own parameters follow.
    private const int ArgClosure = 0, ArgState = 1, ArgMmu = 2, ArgReadTlb = 3, ArgWriteTlb = 4, ArgPc = 5, ArgBudget = 6;

    private readonly Emitter e;
    private readonly Region region;
    private readonly Block[] blocks;
    private readonly Label[] starts;
    private readonly Dictionary<ulong, int> indexOf = [];
    private readonly bool inlineTlb;
    private readonly LocalBuilder?[] regs = new LocalBuilder?[32];
    private readonly bool[] written = new bool[32];
    private readonly List<Action> cold = [];
    // One-instruction blocks the executor runs for instructions tier 1 has no IL for (RegionClosure.Singles).
    private readonly List<Block> singles = [];
    private readonly LocalBuilder nzcv, fa, fb, fres, fkind, el, va, va2, val1, val2, entry, target, retired, exitCount, limit, irqMask, exitSlot;
    // Exits to a fixed address so far, each with its successor slot in RegionClosure.Links.
    private int staticExits;
    // The read and write TLB tables' entries for the region's EL (see TlbBase), declared when first used.
    private LocalBuilder? readBase, writeBase;
    private static readonly FieldInfo ExitField = typeof(RegionClosure).GetField(nameof(RegionClosure.Exit))!;
    private readonly Label commonExit;
    // Shared tails for faults found out of line: each stores the state once, then takes the exception.
    private readonly Label dataAbortExit, spAlignmentExit;
    private bool dataAbortUsed, spAlignmentUsed;
    private FlagState flags;
    private int cur;
    private long curDelta;
    private bool hasBackEdge;
    // The flag state each forward edge brings to a member, null when edges disagree or a back-edge enters it.
    private readonly FlagState?[] entryFlags;
    private readonly bool[] entryFlagsMixed;

    private enum FlagKind : byte { InLocal, Add, Sub, Logical, Dynamic }

    /// <summary>
    /// Where NZCV is: in the <c>nzcv</c> local (dirty when changed since entry), pending in fa/fb/fres, or — at a
    /// member's start, reached from several edges — described at run time by <c>fkind</c> (see <see cref="Tier1Ops.Nzcv"/>).
    /// </summary>
    private readonly record struct FlagState(FlagKind Kind, byte Sf, bool Dirty);

    private BlockCompiler(ILGenerator il, Region region, bool inlineTlb)
    {
        e = new Emitter(il) { StateArg = ArgState };
        this.region = region;
        blocks = region.Blocks;
        this.inlineTlb = inlineTlb;
        starts = new Label[blocks.Length];
        for (int k = 0; k < blocks.Length; k++)
        {
            starts[k] = e.Label();
            indexOf[blocks[k].Pa] = k;
        }
        nzcv = e.Local<ulong>();
        fa = e.Local<ulong>();
        fb = e.Local<ulong>();
        fres = e.Local<ulong>();
        fkind = e.Local<int>();
        el = e.Local<uint>();
        va = e.Local<ulong>();
        va2 = e.Local<ulong>();
        val1 = e.Local<ulong>();
        val2 = e.Local<ulong>();
        entry = e.Local<nint>();
        target = e.Local<ulong>();
        retired = e.Local<int>();
        exitCount = e.Local<int>();
        limit = e.Local<int>();
        irqMask = e.Local<int>();
        exitSlot = e.Local<int>();
        commonExit = e.Label();
        dataAbortExit = e.Label();
        spAlignmentExit = e.Label();
        entryFlags = new FlagState?[blocks.Length];
        entryFlagsMixed = new bool[blocks.Length];
    }

    /// <summary>
    /// How many leading instructions of <paramref name="insts"/> tier 1 can compile: in IL, or, with
    /// <paramref name="withExecutor"/>, through the executor (see <see cref="RunsThroughExecutor"/>).
    /// </summary>
    public static int CompilablePrefix(Inst[] insts, bool withExecutor = false)
    {
        int n = 0;
        while (n < insts.Length && (Supported(in insts[n]) || (withExecutor && RunsThroughExecutor(in insts[n])))) n++;
        return n;
    }

    /// <summary>
    /// Instructions without IL that a region runs by calling the interpreter for that one instruction, so a
    /// block need not end there: everything decodable.
    /// </summary>
    private static bool RunsThroughExecutor(in Inst i) =>
        i.Op is not (Op.Undefined or Op.Udf or Op.Sve or Op.SimdFp or Op.SimdFpLoadStore);

    /// <summary>
    /// An access relative to the system counter, which in instruction-count time is the retired count: the
    /// region publishes its own count around it, so the value is exact to the instruction.
    /// </summary>
    private static bool ReadsCounter(in Inst i) => i.Op is Op.Mrs or Op.MsrReg && SystemRegisterFile.ReadsCounter((int)i.Imm);

    public static CompiledBlock? Compile(Region region, bool inlineTlb)
    {
        if (region.Prefix(region.Entry) == 0) return null;
        var dm = new DynamicMethod($"a64_{region.Entry.Pa:x}", typeof(int),
            [typeof(RegionClosure), typeof(CpuState*), typeof(Mmu), typeof(TlbEntry*), typeof(TlbEntry*), typeof(ulong), typeof(ulong)],
            typeof(BlockCompiler).Module, skipVisibility: true);
        var compiler = new BlockCompiler(dm.GetILGenerator(), region, inlineTlb);
        compiler.EmitMethod();
        return dm.CreateDelegate<CompiledBlock>(new RegionClosure(region.Executor, [.. compiler.singles], compiler.staticExits));
    }

    private void EmitMethod()
    {
        Label prologue = e.Label();
        // The warm-up call (null state) returns before touching anything.
        e.Br(OpCodes.Br, prologue);
        // A member entered by a back-edge (or, for the entry, from outside as well) starts with flags whose
        // form is known only at run time; one entered only by forward edges inherits their common form.
        bool loops = false;
        for (int k = 0; k < blocks.Length; k++)
            foreach (ulong pa in region.Successors(blocks[k]))
                if (indexOf.TryGetValue(pa, out int t) && t <= k)
                {
                    entryFlagsMixed[t] = true;
                    loops = true;
                }
        // A loop keeps its registers in locals, which RyuJIT can hold in host registers across iterations; code
        // run once per entry would only pay to load and store them around a few uses.
        stateRegisters = region.Registers == RegisterHome.State || (region.Registers == RegisterHome.Auto && !loops);
        int entryIndex = indexOf[region.Entry.Pa];
        bool entryHasPredecessors = blocks.Any(b => region.Successors(b).Contains(region.Entry.Pa));
        for (cur = 0; cur < blocks.Length; cur++)
        {
            Block b = blocks[cur];
            curDelta = (long)(b.Pa - region.Entry.Pa);
            e.Mark(starts[cur]);
            if (cur == entryIndex)
                flags = entryHasPredecessors ? new FlagState(FlagKind.Dynamic, 0, true) : new FlagState(FlagKind.InLocal, 0, false);
            else
                flags = !entryFlagsMixed[cur] && entryFlags[cur] is { } inherited ? inherited : new FlagState(FlagKind.Dynamic, 0, true);
            Inst[] insts = b.Insts;
            int n = region.Prefix(b);
            bool ended = false;
            for (int i = 0; i < n && !ended; i++)
            {
                if (Supported(in insts[i])) ended = EmitInstruction(i, in insts[i]);
                else if (!TrySystemRegisterRead(i, b, in insts[i]) && !TryZeroBlock(i, b, in insts[i]) && !TryAcquireRelease(i, b, in insts[i])
                    && !TryAtomic(i, b, in insts[i]) && !TrySystemWrite(i, b, in insts[i]) && !TryFpMemory(i, b, in insts[i]) && !TryVector(i, b, in insts[i]))
                    ThroughExecutor(i, b, in insts[i]);
            }
            if (ended) continue;
            if (n < insts.Length) ExitTo(n, Here(n));
            else Edge(n, Here(n));
        }

        // One exit for the whole region: PC, registers and flags are stored once here, not at every exit.
        e.Mark(commonExit);
        SetPc(() => e.Ld(target));
        e.Arg(ArgClosure); e.Ld(exitSlot); e.StoreField(ExitField);
        MaterializeRecordedFlags();
        WriteBack(new FlagState(FlagKind.InLocal, 0, true));
        e.Ld(exitCount);
        e.Op(OpCodes.Ret);
        // Cold code may add more cold code (none does today); drain by index.
        for (int c = 0; c < cold.Count; c++) cold[c]();
        if (dataAbortUsed) FaultTail(dataAbortExit, () => { e.Arg(ArgMmu); e.Call(TakeDeferredAbort); });
        if (spAlignmentUsed)
            FaultTail(spAlignmentExit, () =>
            {
                e.Arg(ArgState);
                e.Call(Emitter.Method(typeof(ExceptionEntry), nameof(ExceptionEntry.SpAlignment), typeof(CpuState*)));
            });

        // The prologue comes last because only now is it known which registers the region uses.
        Label warm = e.Label();
        e.Mark(prologue);
        e.Arg(ArgState);
        e.Br(OpCodes.Brtrue, warm);
        e.I4(-1);
        e.Op(OpCodes.Ret);
        e.Mark(warm);
        for (int r = 0; r < 32; r++)
        {
            if (regs[r] is not { } l) continue;
            e.LoadState(XOffset + 8 * r, OpCodes.Ldind_I8);
            e.St(l);
        }
        e.LoadState(NzcvOffset, OpCodes.Ldind_I8);
        e.St(nzcv);
        e.LoadState(ElOffset, OpCodes.Ldind_U4);
        e.St(el);
        foreach (var (table, local) in new[] { (ArgReadTlb, readBase), (ArgWriteTlb, writeBase) })
        {
            if (local is null) continue;
            // The EL selects the table's second half: entry index (el << IndexBits), 16 bytes an entry.
            e.Arg(table); e.Ld(el); e.Op(OpCodes.Conv_U); e.I4(SoftTlb.IndexBits + 4); e.Op(OpCodes.Shl); e.Op(OpCodes.Add); e.St(local);
        }
        if (fpAllowed is not null) EmitFpAllowed(fpAllowed);
        if (hasBackEdge)
        {
            e.Arg(ArgBudget);
            e.Call(Emitter.Method(typeof(Tier1Ops), nameof(Tier1Ops.LoopLimit), typeof(ulong)));
            e.St(limit);
            e.Arg(ArgState);
            e.Call(Emitter.Method(typeof(Tier1Ops), nameof(Tier1Ops.IrqMask), typeof(CpuState*)));
            e.St(irqMask);
        }
        e.Br(OpCodes.Br, starts[indexOf[region.Entry.Pa]]);
    }

    /// <summary>The byte offset from the region's entry of instruction <paramref name="i"/> of the current member.</summary>
    private long Here(int i) => curDelta + 4L * i;

    // ---- Edges and exits ----

    /// <summary>
    /// Control leaves the current member after <paramref name="done"/> of its instructions retired, for the
    /// instruction at <paramref name="delta"/>: a branch inside the region, or an exit.
    /// </summary>
    private void Edge(int done, long delta)
    {
        ulong pa = (ulong)((long)region.Entry.Pa + delta);
        if (!indexOf.TryGetValue(pa, out int k))
        {
            ExitTo(done, delta);
            return;
        }
        e.Ld(retired); e.I4(done); e.Op(OpCodes.Add); e.St(retired);
        StoreFlagKind(flags);
        if (k > cur)
        {
            if (entryFlags[k] is not { } known) entryFlags[k] = flags;
            else if (known.Kind != flags.Kind || known.Sf != flags.Sf) entryFlagsMixed[k] = true;
            else entryFlags[k] = known with { Dirty = known.Dirty || flags.Dirty };
        }
        if (k <= cur) BackEdgeCheck(delta);
        e.Br(OpCodes.Br, starts[k]);
    }

    /// <summary>
    /// A loop must let the dispatcher in: stop when the budget is spent, another thread asked (halt, TLB or code
    /// maintenance) or an interrupt the guest has not masked is pending. Two loads and a compare per iteration.
    /// </summary>
    private void BackEdgeCheck(long delta)
    {
        hasBackEdge = true;
        Label leave = e.Label();
        e.Ld(retired); e.Ld(limit); e.Br(OpCodes.Bge, leave);
        e.Arg(ArgState); e.I4(ExitRequestOffset); e.Op(OpCodes.Add); e.Op(OpCodes.Volatile); e.Op(OpCodes.Ldind_I4);
        e.Arg(ArgState); e.I4(IrqPendingOffset); e.Op(OpCodes.Add); e.Op(OpCodes.Volatile); e.Op(OpCodes.Ldind_I4);
        e.Ld(irqMask); e.Op(OpCodes.And); e.Op(OpCodes.Or);
        e.Br(OpCodes.Brtrue, leave);
        FlagState f = flags;
        cold.Add(() =>
        {
            e.Mark(leave);
            PcPlus(delta); e.St(target);
            e.I4(-1); e.St(exitSlot);
            e.Ld(retired); e.St(exitCount);
            StoreFlagKind(f);
            e.Br(OpCodes.Br, commonExit);
        });
    }

    /// <summary>Leaves the region for the instruction at <paramref name="delta"/>, <paramref name="done"/> of the member's instructions retired.</summary>
    private void ExitTo(int done, long delta) => ExitTo(done, () => PcPlus(delta), staticExits++);

    /// <summary>Leaves the region for the PC <paramref name="pushPc"/> computes, through successor slot <paramref name="slot"/> (-1: none).</summary>
    private void ExitTo(int done, Action pushPc, int slot = -1)
    {
        pushPc(); e.St(target);
        e.I4(slot); e.St(exitSlot);
        e.Ld(retired); e.I4(done); e.Op(OpCodes.Add); e.St(exitCount);
        StoreFlagKind(flags);
        e.Br(OpCodes.Br, commonExit);
    }

    /// <summary>
    /// Records flag form <paramref name="f"/> in <c>fkind</c>: for the member an edge enters, or for the shared
    /// tail an exit or fault heads for, which packs the flags once (see <see cref="MaterializeRecordedFlags"/>)
    /// instead of every exit packing its own.
    /// </summary>
    private void StoreFlagKind(FlagState f)
    {
        if (f.Kind == FlagKind.Dynamic) return; // fkind already says it
        e.I4(Tier1Ops.FlagTag((int)f.Kind, f.Sf));
        e.St(fkind);
    }

    // ---- Registers ----

    private LocalBuilder Reg(int r) => regs[r] ??= e.Local<ulong>();

    /// <summary>True when the guest's registers live in the state, not in locals (see <see cref="RegisterHome"/>).</summary>
    private bool stateRegisters;
    private LocalBuilder? spill;

    /// <summary>Pushes X[r]; 32 is the zero register.</summary>
    private void Ld(int r)
    {
        if (r >= CpuState.ZeroRegister) e.U8(0);
        else if (stateRegisters) e.LoadState(XOffset + 8 * r, OpCodes.Ldind_I8);
        else e.Ld(Reg(r));
    }

    /// <summary>Pops into X[r]; 33 (and 32) discard.</summary>
    private void St(int r)
    {
        if (r >= CpuState.ZeroRegister)
        {
            e.Op(OpCodes.Pop);
            return;
        }
        if (stateRegisters)
        {
            spill ??= e.Local<ulong>();
            e.St(spill);
            e.StoreState(XOffset + 8 * r, spill, OpCodes.Stind_I8);
            return;
        }
        e.St(Reg(r));
        written[r] = true;
    }

    /// <summary>Pushes the PC of the instruction at <paramref name="offset"/> bytes from the block's start.</summary>
    private void PcPlus(long offset)
    {
        e.Arg(ArgPc);
        e.U8((ulong)offset);
        e.Op(OpCodes.Add);
    }

    private void SetPc(Action push)
    {
        e.Arg(ArgState);
        e.I4(PcOffset);
        e.Op(OpCodes.Add);
        push();
        e.Op(OpCodes.Stind_I8);
    }

    /// <summary>Stores every register the region writes, and the flags of state <paramref name="f"/>, so a helper or the dispatcher sees them.</summary>
    private void WriteBack(FlagState f) => WriteBack(f, null, false);

    /// <summary>As <see cref="WriteBack(FlagState)"/>, for the registers whose <paramref name="filter"/> entry equals <paramref name="select"/> (all when null).</summary>
    private void WriteBack(FlagState f, bool[]? filter, bool select)
    {
        for (int r = 0; r < 32; r++)
        {
            if (!written[r] || (filter is not null && filter[r] != select)) continue;
            e.Arg(ArgState);
            e.I4(XOffset + 8 * r);
            e.Op(OpCodes.Add);
            e.Ld(regs[r]!);
            e.Op(OpCodes.Stind_I8);
        }
        if (f.Kind == FlagKind.InLocal && !f.Dirty) return;
        e.Arg(ArgState);
        e.I4(NzcvOffset);
        e.Op(OpCodes.Add);
        PushNzcv(f);
        e.Op(OpCodes.Stind_I8);
    }

    /// <summary>
    /// Emits the out-of-line slow path of a memory access at instruction <paramref name="i"/>, entered at
    /// <paramref name="start"/>: <paramref name="call"/> pushes the deferred helper's bool result (the helper
    /// stores the access's PC, for diagnostics and the abort); on true the access is done and the region goes
    /// on at <paramref name="resume"/>, on false the shared tail stores the state and takes the recorded abort.
    /// </summary>
    private void Guarded(int i, Action call, Label resume, Label start)
    {
        FlagState f = flags;
        dataAbortUsed = true;
        cold.Add(() =>
        {
            e.Mark(start);
            call();
            e.Br(OpCodes.Brtrue, resume);
            LeaveForFault(i, f, dataAbortExit);
        });
    }

    /// <summary>
    /// An instruction without IL: the registers go to CpuState, the executor runs it there, and the region
    /// reloads them and goes on, or returns if the instruction left (its PC and state are then already set, and
    /// the executor counted it).
    /// </summary>
    private void ThroughExecutor(int i, Block member, in Inst inst)
    {
        Label stub = e.Label(), resume = e.Label();
        e.Br(OpCodes.Br, stub);
        e.Mark(resume);
        ExecutorStub(i, member, in inst, stub, resume, keepsFlags: false);
        flags = new FlagState(FlagKind.InLocal, 0, true);
    }

    /// <summary>
    /// MRS of a register that is a plain field of the state (the kernel reads SP_EL0 for <c>current</c> and
    /// TPIDR_EL1 for per-CPU data millions of times in a kernel-heavy run): a load in IL where the current EL
    /// may read it, the executor otherwise (EL0, or SP_EL0 while it is the stack pointer), which takes the
    /// architectural exception. False for any other register.
    /// </summary>
    private bool TrySystemRegisterRead(int i, Block member, in Inst inst)
    {
        if (inst.Op != Op.Mrs) return false;
        (int offset, bool el1Only, bool spSel) = (int)inst.Imm switch
        {
            SystemRegisterFile.SP_EL0 => (SpEl0Offset, true, true),
            SystemRegisterFile.TPIDR_EL1 => (TpidrEl1Offset, true, false),
            SystemRegisterFile.TPIDR_EL0 => (TpidrEl0Offset, false, false),
            SystemRegisterFile.TPIDRRO_EL0 => (TpidrroEl0Offset, false, false),
            SystemRegisterFile.DAIF => (DaifOffset, true, false),
            _ => (-1, false, false),
        };
        if (offset < 0) return false;
        Label stub = e.Label(), resume = e.Label();
        if (el1Only) { e.Ld(el); e.Br(OpCodes.Brfalse, stub); }
        if (spSel) { e.LoadState(SpSelOffset, OpCodes.Ldind_U4); e.Br(OpCodes.Brfalse, stub); }
        e.LoadState(offset, OpCodes.Ldind_I8);
        St(inst.Rd);
        e.Mark(resume);
        // MRS leaves the flags alone, so the executor's path keeps their form too.
        ExecutorStub(i, member, in inst, stub, resume, keepsFlags: true);
        return true;
    }

    /// <summary>
    /// The PSTATE and system-register writes of every kernel entry and return (MSR DAIFSet/DAIFClr, MSR DAIF
    /// and MSR SP_EL0, each of which used to leave the region) and ISB: done in IL at EL1, and the region goes
    /// on. Unmasking re-reads the IRQ mask; if an interrupt is pending and now unmasked, the executor runs the
    /// write again (it is idempotent) and leaves, so the dispatcher takes the interrupt before the next
    /// instruction. ISB needs nothing: an instruction that changes context leaves the region itself. EL0, and
    /// SP_EL0 while it is the stack pointer, go to the executor for the trap or UNDEFINED. False for any other
    /// instruction.
    /// </summary>
    private bool TrySystemWrite(int i, Block member, in Inst inst)
    {
        bool daifImmediate = inst.Op == Op.MsrImm && inst.A == 3 && inst.B is 6 or 7;
        int key = inst.Op == Op.MsrReg ? (int)inst.Imm : -1;
        if (inst.Op == Op.Isb) return true;
        if (!daifImmediate && key is not (SystemRegisterFile.DAIF or SystemRegisterFile.SP_EL0)) return false;
        Label stub = e.Label(), resume = e.Label();
        e.Ld(el); e.Br(OpCodes.Brfalse, stub);
        if (key == SystemRegisterFile.SP_EL0)
        {
            e.LoadState(SpSelOffset, OpCodes.Ldind_U4); e.Br(OpCodes.Brfalse, stub);
            Ld(inst.Rd); e.St(val1);
            e.StoreState(SpEl0Offset, val1, OpCodes.Stind_I8);
        }
        else
        {
            bool masksOnly = daifImmediate && inst.B == 6;
            if (daifImmediate)
            {
                ulong bits = (ulong)inst.C << 6;
                e.LoadState(DaifOffset, OpCodes.Ldind_I8);
                if (masksOnly) { e.U8(bits); e.Op(OpCodes.Or); }
                else { e.U8(~bits); e.Op(OpCodes.And); }
            }
            else { Ld(inst.Rd); e.U8(0x3C0); e.Op(OpCodes.And); }
            e.St(val1);
            e.StoreState(DaifOffset, val1, OpCodes.Stind_I8);
            e.Arg(ArgState);
            e.Call(Emitter.Method(typeof(Tier1Ops), nameof(Tier1Ops.IrqMask), typeof(CpuState*)));
            e.St(irqMask);
            if (!masksOnly)
            {
                e.Arg(ArgState); e.I4(IrqPendingOffset); e.Op(OpCodes.Add); e.Op(OpCodes.Volatile); e.Op(OpCodes.Ldind_I4);
                e.Ld(irqMask); e.Op(OpCodes.And);
                e.Br(OpCodes.Brtrue, stub);
            }
        }
        e.Mark(resume);
        ExecutorStub(i, member, in inst, stub, resume, keepsFlags: true);
        return true;
    }

    /// <summary>
    /// The cold stub, entered at <paramref name="stub"/>, that runs instruction <paramref name="i"/> through the
    /// executor and goes on at <paramref name="resume"/>, or returns if the instruction left. With
    /// <paramref name="keepsFlags"/> (an instruction that cannot change NZCV) the flags stay in their current
    /// form; otherwise they come back packed in the <c>nzcv</c> local.
    /// </summary>
    private void ExecutorStub(int i, Block member, in Inst inst, Label stub, Label resume, bool keepsFlags)
    {
        int index = singles.Count;
        singles.Add(new Block(member.Pa + 4 * (ulong)i, [inst]));
        bool[] touched = RegistersTouched(in inst);
        bool counter = ReadsCounter(in inst);
        FlagState f = flags;
        long here = Here(i);
        cold.Add(() =>
        {
            Label left = e.Label();
            e.Mark(stub);
            // The instruction sees (and an exception it takes stores) its operands, SP and the flags; the
            // other registers stay in locals unless it leaves.
            WriteBack(f, touched, true);
            if (counter) PublishRetired(i, OpCodes.Add);
            e.Arg(ArgClosure);
            e.I4(index);
            PcPlus(here);
            e.Call(Emitter.Method(typeof(RegionClosure), nameof(RegionClosure.Execute), typeof(int), typeof(ulong)));
            if (counter) PublishRetired(i, OpCodes.Sub);
            e.Br(OpCodes.Brfalse, left);
            // The executor counted the instruction in Retired; the region counts it itself (its loops measure
            // their budget by that count), so take the executor's back.
            AdjustRetired(() => e.U8(1), OpCodes.Sub);
            for (int r = 0; r < 32; r++)
            {
                if (!touched[r] || regs[r] is not { } l) continue;
                e.LoadState(XOffset + 8 * r, OpCodes.Ldind_I8);
                e.St(l);
            }
            if (!keepsFlags)
            {
                e.LoadState(NzcvOffset, OpCodes.Ldind_I8);
                e.St(nzcv);
            }
            e.Br(OpCodes.Br, resume);
            // It left: the state is the executor's now, except registers it never touched.
            e.Mark(left);
            NoExitSlot();
            WriteBack(new FlagState(FlagKind.InLocal, 0, false), touched, false);
            e.Ld(retired); e.I4(i); e.Op(OpCodes.Add);
            e.Op(OpCodes.Ret);
        });
    }

    /// <summary>Adds to (or takes back from) <c>s-&gt;Retired</c> what the region has retired before instruction <paramref name="i"/>.</summary>
    private void PublishRetired(int i, OpCode op) =>
        AdjustRetired(() => { e.Ld(retired); e.I4(i); e.Op(OpCodes.Add); e.Op(OpCodes.Conv_I8); }, op);

    /// <summary><c>s-&gt;Retired</c> = <c>s-&gt;Retired</c> <paramref name="op"/> the ulong <paramref name="pushDelta"/> pushes.</summary>
    private void AdjustRetired(Action pushDelta, OpCode op)
    {
        e.Arg(ArgState); e.I4(RetiredOffset); e.Op(OpCodes.Add);
        e.LoadState(RetiredOffset, OpCodes.Ldind_I8);
        pushDelta();
        e.Op(op);
        e.Op(OpCodes.Stind_I8);
    }

    /// <summary>
    /// The registers an instruction run by the executor may read or write: its operand fields (which name
    /// every register the A64 forms write, base write-back included), SP, the second register of CASP's
    /// pairs, and X0–X7 for HVC/SMC (the SMCCC arguments; results come back in X0–X3).
    /// </summary>
    private static bool[] RegistersTouched(in Inst inst)
    {
        var touched = new bool[32];
        foreach (byte r in (ReadOnlySpan<byte>)[inst.Rd, inst.Rn, inst.Rm, inst.Ra, 31])
            if (r < 32) touched[r] = true;
        if (inst.Op == Op.Casp)
            foreach (byte r in (ReadOnlySpan<byte>)[inst.Rm, inst.Rd])
                if (r + 1 < 32) touched[r + 1] = true;
        if (inst.Op is Op.Hvc or Op.Smc)
            for (int r = 0; r < 8; r++) touched[r] = true;
        return touched;
    }

    /// <summary>
    /// Records that the region left by no successor slot (an exception, an instruction that left): the
    /// dispatcher must not take the next PC, a vector, for the successor of the exit it took last time.
    /// </summary>
    private void NoExitSlot()
    {
        e.Arg(ArgClosure); e.I4(-1); e.StoreField(ExitField);
    }

    /// <summary>Heads for a fault tail with instruction <paramref name="i"/> not retired; PC is already stored.</summary>
    private void LeaveForFault(int i, FlagState f, Label tail)
    {
        e.Ld(retired); e.I4(i); e.Op(OpCodes.Add); e.St(exitCount);
        StoreFlagKind(f);
        e.Br(OpCodes.Br, tail);
    }

    private void FaultTail(Label tail, Action takeException)
    {
        e.Mark(tail);
        NoExitSlot();
        MaterializeRecordedFlags();
        WriteBack(new FlagState(FlagKind.InLocal, 0, true));
        takeException();
        e.Ld(exitCount);
        e.Op(OpCodes.Ret);
    }

    // ---- Flags ----

    /// <summary>Pushes the packed NZCV for state <paramref name="f"/>.</summary>
    private void PushNzcv(FlagState f)
    {
        switch (f.Kind)
        {
            case FlagKind.InLocal:
                e.Ld(nzcv);
                break;
            case FlagKind.Add: case FlagKind.Sub:
                e.Ld(fa);
                e.Ld(fb);
                e.Call(Emitter.Method(typeof(Tier1Ops),
                    (f.Kind == FlagKind.Add ? "NzcvAdd" : "NzcvSub") + (f.Sf != 0 ? "64" : "32"), typeof(ulong), typeof(ulong)));
                break;
            case FlagKind.Logical:
                e.Ld(fres);
                e.Call(Emitter.Method(typeof(Tier1Ops), f.Sf != 0 ? "NzcvLogical64" : "NzcvLogical32", typeof(ulong)));
                break;
            default:
                e.Ld(fkind); e.Ld(nzcv); e.Ld(fa); e.Ld(fb); e.Ld(fres);
                e.Call(Emitter.Method(typeof(Tier1Ops), nameof(Tier1Ops.Nzcv), typeof(int), typeof(ulong), typeof(ulong), typeof(ulong), typeof(ulong)));
                break;
        }
    }

    /// <summary>In a shared tail: packs the flags whose form the exit recorded in <c>fkind</c> into <c>nzcv</c>.</summary>
    private void MaterializeRecordedFlags()
    {
        Label packed = e.Label();
        e.Ld(fkind); e.Br(OpCodes.Brfalse, packed); // tag 0: already in the nzcv local
        e.Ld(fkind); e.Ld(nzcv); e.Ld(fa); e.Ld(fb); e.Ld(fres);
        e.Call(Emitter.Method(typeof(Tier1Ops), nameof(Tier1Ops.Nzcv), typeof(int), typeof(ulong), typeof(ulong), typeof(ulong), typeof(ulong)));
        e.St(nzcv);
        e.Mark(packed);
    }

    /// <summary>Makes the <c>nzcv</c> local hold the flags (for consumers that need them packed).</summary>
    private void MaterializeFlags()
    {
        if (flags.Kind == FlagKind.InLocal) return;
        PushNzcv(flags);
        e.St(nzcv);
        flags = new FlagState(FlagKind.InLocal, 0, true);
    }

    /// <summary>Records a flag-setting add or subtract of fa and fb (already truncated to the width) with result fres.</summary>
    private void SetPendingFlags(FlagKind kind, byte sf) => flags = new FlagState(kind, sf, true);

    /// <summary>Pushes an int32 0/1: whether condition <paramref name="cond"/> holds (C1.2.4).</summary>
    private void Condition(int cond)
    {
        if (cond >= 14)
        {
            e.I4(1);
            return;
        }
        bool invert = (cond & 1) != 0;
        if (TryDirectCondition(cond >> 1))
        {
            if (invert) e.Not();
            return;
        }
        MaterializeFlags();
        e.I4(cond);
        e.Ld(nzcv);
        e.Call(Emitter.Method(typeof(Flags), nameof(Flags.ConditionHolds), typeof(int), typeof(ulong)));
    }

    /// <summary>Evaluates the even condition 2 × <paramref name="test"/> from the pending operands, if it can.</summary>
    private bool TryDirectCondition(int test)
    {
        FlagState f = flags;
        if (f.Kind is FlagKind.InLocal or FlagKind.Dynamic) return false;
        switch (test)
        {
            case 0: // EQ: Z
                e.Ld(fres);
                e.U8(0);
                e.Op(OpCodes.Ceq);
                return true;
            case 2: // MI: N
                PushSigned(fres, f.Sf);
                e.U8(0);
                e.Op(OpCodes.Clt);
                return true;
        }
        if (f.Kind == FlagKind.Logical)
        {
            // C = V = 0 after a logical operation.
            switch (test)
            {
                case 1: case 3: case 4: e.I4(0); return true; // HS, VS, HI
                case 5: // GE: N == V, that is N clear
                    PushSigned(fres, f.Sf); e.U8(0); e.Op(OpCodes.Clt); e.Not(); return true;
                case 6: // GT: !Z and N clear
                    PushSigned(fres, f.Sf); e.U8(0); e.Op(OpCodes.Cgt); return true;
            }
            return false;
        }
        if (f.Kind != FlagKind.Sub) return false;
        switch (test)
        {
            case 1: // HS: a >= b unsigned
                e.Ld(fa); e.Ld(fb); e.Op(OpCodes.Clt_Un); e.Not(); return true;
            case 4: // HI: a > b unsigned
                e.Ld(fa); e.Ld(fb); e.Op(OpCodes.Cgt_Un); return true;
            case 5: // GE: a >= b signed
                PushSigned(fa, f.Sf); PushSigned(fb, f.Sf); e.Op(OpCodes.Clt); e.Not(); return true;
            case 6: // GT: a > b signed
                PushSigned(fa, f.Sf); PushSigned(fb, f.Sf); e.Op(OpCodes.Cgt); return true;
        }
        return false;
    }

    /// <summary>Pushes <paramref name="l"/> as a signed value of the operation's width (int32 or int64).</summary>
    private void PushSigned(LocalBuilder l, byte sf)
    {
        e.Ld(l);
        if (sf == 0) e.Op(OpCodes.Conv_I4);
        else return;
        e.Op(OpCodes.Conv_I8);
    }
}
