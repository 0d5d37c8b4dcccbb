using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Jit.Runtime;
using Jit.Runtime.Exceptions;
using Jit.Runtime.Memory;
using Jit.Runtime.SystemRegisters;
using Jit.Translator.Decoder;
using Jit.Translator.Tier1;
using Jit.Runtime.Startup;

namespace Jit.Translator.Interpreter;

/// <summary>
/// Tier 0: decodes each block once into <see cref="Inst"/>s, caches it by physical address and executes it
/// with one switch per instruction. Faults are taken as guest exceptions by the memory and exception helpers,
/// which return a status instead of throwing.
/// </summary>
[CompiledEarly]
public sealed unsafe partial class BlockInterpreter : ISingleInstruction
{
    private const int MaxBlockInstructions = 64;

    // Results of executing one instruction other than "fall through to the next".
    private const int Redirect = -2; // the instruction retired and set s->PC (branch, exception call, context change)
    private const int Faulted = -3;  // the instruction took an exception: it does not retire

    private readonly Processor processor;
    private readonly CpuState* s;
    private readonly Mmu mmu;
    private readonly IHypervisorCalls? hypervisor;
    private readonly BlockCache cache = new();
    // Pages another vCPU's writes invalidated; drained by this vCPU's thread, which alone touches the cache.
    private readonly System.Collections.Concurrent.ConcurrentQueue<(ulong Page, ulong Chunks)> invalidatedCode = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<ulong> newCodePages = new();
    private Thread? owner;

    public BlockInterpreter(Processor processor, IHypervisorCalls? hypervisor)
    {
        this.processor = processor;
        s = processor.State;
        mmu = processor.Mmu;
        this.hypervisor = hypervisor;
        tlb = mmu.Tlb;
        mmu.Ram.CodeWritten += OnCodeWritten;
        mmu.Ram.BecameCode += OnBecameCode;
    }

    // Both maintenance kinds are applied by this vCPU's own thread: its cache and TLB are not shared.
    private void OnBecameCode(ulong page)
    {
        if (owner is null || owner == Thread.CurrentThread)
        {
            mmu.Tlb.FlushWritesToHostPage(mmu.Ram.HostAddress(page));
            return;
        }
        newCodePages.Enqueue(page);
        Interlocked.Or(ref s->ExitRequest, ExitRequests.InvalidateCode);
    }

    private void OnCodeWritten(ulong page, ulong chunks)
    {
        if (owner is null || owner == Thread.CurrentThread)
        {
            cache.InvalidateChunks(page, chunks);
            return;
        }
        invalidatedCode.Enqueue((page, chunks));
        Interlocked.Or(ref s->ExitRequest, ExitRequests.InvalidateCode);
    }

    /// <summary>Applies the code and TLB maintenance other vCPUs' actions require of this one.</summary>
    private void HandleMaintenanceRequests(int request)
    {
        if ((request & ExitRequests.InvalidateCode) != 0)
        {
            Interlocked.And(ref s->ExitRequest, ~ExitRequests.InvalidateCode);
            while (invalidatedCode.TryDequeue(out var w)) cache.InvalidateChunks(w.Page, w.Chunks);
            while (newCodePages.TryDequeue(out ulong page)) mmu.Tlb.FlushWritesToHostPage(mmu.Ram.HostAddress(page));
        }
        if ((request & ExitRequests.FlushTlb) != 0)
        {
            Interlocked.And(ref s->ExitRequest, ~ExitRequests.FlushTlb);
            var queued = processor.RemoteTlbInvalidations;
            // A long backlog (a guest unmapping a large range page by page) costs less as one flush.
            if (queued.Count > 256)
            {
                queued.Clear();
                mmu.Tlb.Flush();
            }
            while (queued.TryDequeue(out var invalidation)) mmu.Tlb.Apply(invalidation);
        }
        if ((request & ExitRequests.TimerCheck) != 0)
        {
            // A deadline passed while this vCPU ran: the interrupt it raises is taken just below.
            Interlocked.And(ref s->ExitRequest, ~ExitRequests.TimerCheck);
            processor.Timer.Update();
        }
    }

    public int BlocksDecoded { get; private set; }

    /// <summary>Instructions tier 0 retired (the rest ran compiled): how much of a run tier 1 covers.</summary>
    public ulong InterpretedInstructions => interpreted;
    private ulong interpreted;

    private JitOptions options = JitOptions.Default;
    // Blocks are compiled once entered more often than this; ulong.MaxValue keeps tier 1 off.
    private ulong tier1Threshold = ulong.MaxValue;
    private readonly SoftTlb tlb;

    /// <summary>The engine's switches; changing them applies to blocks that become hot from now on.</summary>
    public JitOptions Options
    {
        get => options;
        set
        {
            options = value;
            tier1Threshold = value.Tier1 == Tier1Mode.Off ? ulong.MaxValue : value.Threshold;
            tlb.KeepsContexts = value.TlbContexts;
            if (value.Tier1 == Tier1Mode.Background) Tier1Compiler.Start();
        }
    }

    private CompiledBlock? RequestTier1(Block block)
    {
        // A waiting region will run this block's code when entered at its own entry; count again from zero, and
        // ask for a region here only if the block is still entered often on its own once that one is compiled.
        if (Volatile.Read(ref block.WaitingRegions) > 0 && options.CoverWaiting)
        {
            block.Executions = 0;
            return null;
        }
        // Formed here, on the vCPU thread that owns the cache; the compiler sees only immutable blocks.
        ISingleInstruction? executor = options.Executor ? this : null;
        Region region = options.Regions ? Region.Form(block, cache.Lookup, executor, options.Registers) : Region.Single(block, executor, options.Registers);
        block.RegionChunks = region.Chunks;
        block.Region = region;
        if (options.Tier1 == Tier1Mode.Synchronous)
        {
            Tier1Compiler.CompileNow(region, options.InlineTlb);
            return block.Compiled;
        }
        Tier1Compiler.Enqueue(region, options.InlineTlb);
        return null;
    }

    public void Flush() => cache.Clear();
    public IEnumerable<Block> Blocks => cache.Blocks;

    /// <summary>Called when a block is decoded (guest VA, PA, its instruction words): <c>--trace in_asm</c>.</summary>
    public BlockTranslatedHandler? BlockTranslated { get; set; }

    /// <summary>Called on every block entry (guest VA, PA): <c>--trace exec</c>.</summary>
    public Action<ulong, ulong>? BlockEntered { get; set; }

    // The exec hook is a type argument, so the untraced loop is compiled without it rather than testing a
    // delegate on every block: RyuJIT specialises generic methods over structs and inlines the empty call.
    public ExitReason Run(ulong maxInstructions) =>
        BlockEntered is { } entered ? Run(maxInstructions, new TracedEntry(entered)) : Run(maxInstructions, default(UntracedEntry));

    private interface IBlockEntry
    {
        void Enter(ulong va, ulong pa);
    }

    private readonly struct UntracedEntry : IBlockEntry
    {
        public void Enter(ulong va, ulong pa) { }
    }

    private readonly struct TracedEntry(Action<ulong, ulong> hook) : IBlockEntry
    {
        public void Enter(ulong va, ulong pa) => hook(va, pa);
    }

    private ExitReason Run<TEntry>(ulong maxInstructions, TEntry entry) where TEntry : struct, IBlockEntry
    {
        ulong budget = maxInstructions;
        owner = Thread.CurrentThread;
        // The closure of the compiled region the loop returned from last, whose exit slot it fills; null after
        // interpreted blocks and interrupts. A local: a field store would cost a GC write barrier per region.
        RegionClosure? last = null;
        // The VA page the region in `last` was entered at: a slot it fills for the same page (VA and PA, the PA
        // page read from the closure only then) is page-local.
        ulong lastVaPage = 0;
        while (true)
        {
            int request = Volatile.Read(ref s->ExitRequest);
            if (request != 0)
            {
                if ((request & ExitRequests.Halt) != 0) return ExitReason.Halt;
                if ((request & ExitRequests.Stop) != 0) return ExitReason.Stopped;
                if ((request & (ExitRequests.Yield | ExitRequests.Service)) != 0) return ExitReason.Yield;
                HandleMaintenanceRequests(request);
            }
            if (budget == 0) return ExitReason.InstructionLimit;
            // Interrupts are taken between blocks: every instruction that can unmask them ends a block.
            if (Volatile.Read(ref s->IrqPending) != 0 && (s->Daif & 0x80) == 0)
            {
                ExceptionEntry.TakeIrqToEl1(s);
                last = null;
            }

            ulong pc = s->PC;
            // A region that left by a static exit names its successor slot, and the jump cache has a slot for
            // every PC: a slot that holds a live compiled region for this PC under the current translation is
            // entered straight from the slot. Otherwise Follow checks the slot's block, and Find the jump cache's.
            RegionClosure? next = null;
            nint fn = 0;
            Block? block = null;
            if (last is { Exit: >= 0 } from)
            {
                ref BlockLink link = ref from.Links[from.Exit];
                if (Holds(ref link, pc))
                {
                    next = link.Closure;
                    fn = link.Entry;
                }
                else if ((block = Follow(ref link, pc)) is not null) Remember(ref link, block);
            }
            if (next is null && block is null)
            {
                ref BlockLink jump = ref jumps[(int)(pc >> 2) & (JumpSlots - 1)];
                if (Holds(ref jump, pc))
                {
                    next = jump.Closure!;
                    fn = jump.Entry;
                    if (last is { Exit: >= 0 } exited)
                    {
                        ref BlockLink slot = ref exited.Links[exited.Exit];
                        slot = jump;
                        if (pc >> 12 == lastVaPage && next.Pa >> 12 == exited.Pa >> 12) slot.Generation = BlockLink.PageLocal;
                    }
                }
                else
                {
                    block = Find(ref jump, pc, ref budget);
                    if (block is null) continue;
                    if (options.Linking && last is { Exit: >= 0 } exited)
                    {
                        bool pageLocal = pc >> 12 == lastVaPage && block.Pa >> 12 == exited.Pa >> 12;
                        exited.Links[exited.Exit] = new BlockLink(pc, block, pageLocal ? BlockLink.PageLocal : tlb.Generation, s->EL);
                        Remember(ref exited.Links[exited.Exit], block);
                    }
                }
            }
            if (next is null)
            {
                entry.Enter(pc, block!.Pa);
                if (Volatile.Read(ref block.Compiled) is null)
                {
                    if (++block.Executions > tier1Threshold && block.Tier1State == Tier1State.Interpreted && RequestTier1(block) is not null)
                        next = block.Closure!;
                }
                else next = block.Closure!;
            }
            else entry.Enter(pc, next.Pa);
            if (next is not null)
            {
                last = next;
                lastVaPage = pc >> 12;
                int retired = fn != 0
                    ? ((delegate*<RegionClosure, CpuState*, Mmu, TlbEntry*, TlbEntry*, ulong, ulong, int>)fn)(next, s, mmu, tlb.Read, tlb.Write, pc, budget)
                    : next.Code!(s, mmu, tlb.Read, tlb.Write, pc, budget);
                s->Retired += (ulong)retired;
                Consume(ref budget, retired);
                if (pendingExit >= 0)
                {
                    var reason = (ExitReason)pendingExit;
                    pendingExit = -1;
                    return reason;
                }
                continue;
            }
            last = null;
            int exit = Execute(block!, pc, ref budget);
            if (exit >= 0) return (ExitReason)exit;
        }
    }

    // The jump cache: the block a virtual PC led to (see BlockLink), so that most dispatches, returns and
    // indirect branches included, skip the fetch TLB and the block cache.
    private const int JumpSlots = 4096;
    private readonly BlockLink[] jumps = new BlockLink[JumpSlots];

    /// <summary>
    /// The block <paramref name="link"/> leads to from <paramref name="pc"/> if it still does: made under the
    /// current TLB generation, or made under another one (a context switch, a flush) and the fetch TLB maps the
    /// page to the block's again, in which case the link is brought up to the current generation.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Block? Follow(ref BlockLink link, ulong pc)
    {
        uint el = s->EL;
        if (link.Candidate(pc, el) is not { } b) return null;
        if (link.Generation == tlb.Generation || link.Generation == BlockLink.PageLocal) return b;
        if (!mmu.FetchMaps(pc, el, b.Pa)) return null;
        link.Generation = tlb.Generation;
        return b;
    }

    /// <summary>
    /// The block at <paramref name="pc"/> through the jump cache, or the fetch TLB and the block cache (decoding
    /// it if new); null when the fetch faulted, which consumes budget so that a guest whose vectors fault again
    /// (an exception loop, as on hardware) still returns to the run loop.
    /// </summary>
    private Block? Find(ref BlockLink jump, ulong pc, ref ulong budget)
    {
        if (Follow(ref jump, pc) is { } known)
        {
            Remember(ref jump, known);
            return known;
        }
        s->Counters.BlockLookups++;
        if ((pc & 3) != 0)
        {
            ExceptionEntry.PcAlignment(s, pc);
            budget--;
            return null;
        }
        if (!mmu.Fetch(pc, out ulong pa, out byte* host))
        {
            budget--;
            return null;
        }
        Block block = cache.Lookup(pa) ?? Translate(pa, host);
        if (options.Linking)
        {
            jump = new BlockLink(pc, block, tlb.Generation, s->EL);
            Remember(ref jump, block);
        }
        return block;
    }

    /// <summary>
    /// Whether <paramref name="link"/> holds a compiled region's entry that is still the code for
    /// <paramref name="pc"/>: no block dropped since it was remembered, and the translation it was made under
    /// current (or the link page-local), as <see cref="Follow"/> would find without touching the block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Holds(ref BlockLink link, ulong pc) =>
        link.Entry != 0 && link.Va == pc && link.El == s->EL && link.Epoch == cache.Epoch
        && (link.Generation == tlb.Generation || link.Generation == BlockLink.PageLocal);

    /// <summary>Copies the compiled region of <paramref name="block"/>, which <paramref name="link"/> leads to, into the link.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Remember(ref BlockLink link, Block block)
    {
        if (Volatile.Read(ref block.Compiled) is null) return;
        // The closure is written before Compiled is published.
        link.Closure = block.Closure;
        link.Entry = block.Closure!.Entry;
        link.Epoch = cache.Epoch;
    }

    private readonly Inst[] scratch = new Inst[MaxBlockInstructions];

    private Block Translate(ulong pa, byte* host)
    {
        int room = (int)((0x1000 - (pa & 0xFFF)) >> 2);
        int max = Math.Min(room, MaxBlockInstructions);
        int count = 0;
        while (count < max)
        {
            Inst inst = Predecoder.Predecode(((uint*)host)[count]);
            scratch[count++] = inst;
            if (Predecoder.EndsBlock(inst)) break;
        }
        var block = new Block(pa, scratch.AsSpan(0, count).ToArray());
        BlockTranslated?.Invoke(s->PC, pa, new ReadOnlySpan<uint>(host, count));
        mmu.Ram.MarkCode(pa, count * 4);
        cache.Add(block);
        BlocksDecoded++;
        return block;
    }

    // An exit to the hypervisor that an instruction run for a compiled region asked for (WFI, a stopping
    // HVC/SMC): the region returns first, then the run loop returns this.
    private int pendingExit = -1;

    /// <summary>
    /// Runs an AdvSIMD data-processing instruction that touches only vector registers and FPSR for a compiled
    /// region, which keeps its general-purpose registers and flags in locals meanwhile and counts the
    /// instruction itself (see <see cref="ISingleInstruction.ExecuteVector"/>).
    /// </summary>
    public bool ExecuteVector(Block single)
    {
        if (!SimdCompute(in single.Insts[0])) return false;
        interpreted++;
        return true;
    }

    /// <summary>Runs one instruction for a compiled region (see <see cref="ISingleInstruction"/>), on this vCPU's thread.</summary>
    public bool ExecuteOne(Block single, ulong pc)
    {
        ref readonly Inst call = ref single.Insts[0];
        if (call.Op is Op.Hvc or Op.Smc && s->EL != 0 && hypervisor is not null) return HypervisorCall(in call, pc);
        ulong budget = 1, before = s->Retired;
        int exit = Execute(single, pc, ref budget);
        if (exit >= 0)
        {
            pendingExit = exit;
            return false;
        }
        // An instruction that retired without redirecting continues at the next one, and so do the
        // block-ending ones that change nothing a region assumes (see ContinuesInRegion). Any other may have
        // changed DAIF, the EL, translation or the code itself, and a fault went to a vector: leave.
        ref readonly Inst inst = ref single.Insts[0];
        return s->Retired != before && s->PC == pc + 4 && (!Predecoder.EndsBlock(in inst) || ContinuesInRegion(in inst));
    }

    /// <summary>
    /// HVC or SMC at EL1 for a compiled region, as <see cref="Execute"/> runs it but without the interpreter's
    /// loop around one instruction: the SMCCC fast path (a TEE's fast call, PSCI) is mostly this call.
    /// </summary>
    private bool HypervisorCall(in Inst I, ulong pc)
    {
        int result = CallHypervisor(in I, pc);
        // Retired after the call, as Execute counts it: a service that reads guest time (instruction-count
        // mode) sees the same count from either tier.
        s->Retired++;
        interpreted++;
        if (result != Redirect)
        {
            pendingExit = result;
            return false;
        }
        // An HVC the hypervisor turned into an exception (an unknown immediate) went to a vector: leave.
        return s->PC == pc + 4;
    }

    /// <summary>HVC or SMC at EL1 or above with a hypervisor: PC past the call, then the call; <see cref="Redirect"/> when the hypervisor completed it, else the exit to take.</summary>
    private int CallHypervisor(in Inst I, ulong pc)
    {
        s->PC = pc + 4;
        bool hvc = I.Op == Op.Hvc;
        bool done = hvc ? hypervisor!.Hvc(s, (ushort)I.Imm) : hypervisor!.Smc(s, (ushort)I.Imm);
        return done ? Redirect : (int)(hvc ? ExitReason.Hvc : ExitReason.Smc);
    }

    /// <summary>
    /// Block-ending instructions after which a region may go on: a completed HVC or SMC (the hypervisor's fast
    /// path); ISB, since every instruction that changes context leaves the region itself, so the region running
    /// on was entered under the current context; and writes to the GIC CPU interface, the thread ID and the
    /// timer registers, which a region does not depend on (an interrupt they make pending is seen at the next
    /// back-edge or exit).
    /// </summary>
    private static bool ContinuesInRegion(in Inst inst) =>
        inst.Op is Op.Hvc or Op.Smc or Op.Isb || (inst.Op == Op.MsrReg && SystemRegisterFile.WriteKeepsContext((int)inst.Imm));

    /// <summary>Runs <paramref name="block"/> from its first instruction; returns an <see cref="ExitReason"/> or −1 to continue.</summary>
    private int Execute(Block block, ulong pc, ref ulong budget)
    {
        CpuState* s = this.s;
        ulong* x = s->X;
        Inst[] insts = block.Insts;
        ref Inst first = ref MemoryMarshal.GetArrayDataReference(insts);
        int n = insts.Length;
        int i = 0;
        int status = -1;
        for (; i < n; i++, pc += 4)
        {
            ref Inst I = ref Unsafe.Add(ref first, i);
            s->PC = pc;
            switch (I.Op)
            {
                // ---- Data processing: immediate ----
                case Op.Adr: x[I.Rd] = pc + I.Imm; break;
                case Op.Adrp: x[I.Rd] = (pc & ~0xFFFUL) + I.Imm; break;
                case Op.AddImm: x[I.Rd] = Width(x[I.Rn] + I.Imm, I.Sf); break;
                case Op.SubImm: x[I.Rd] = Width(x[I.Rn] - I.Imm, I.Sf); break;
                case Op.AddsImm: x[I.Rd] = AddFlags(x[I.Rn], I.Imm, 0, I.Sf); break;
                case Op.SubsImm: x[I.Rd] = AddFlags(x[I.Rn], ~I.Imm, 1, I.Sf); break;
                case Op.AndImm: x[I.Rd] = x[I.Rn] & I.Imm; break;
                case Op.OrrImm: x[I.Rd] = Width(x[I.Rn] | I.Imm, I.Sf); break;
                case Op.EorImm: x[I.Rd] = Width(x[I.Rn] ^ I.Imm, I.Sf); break;
                case Op.AndsImm: x[I.Rd] = LogicalFlags(x[I.Rn] & I.Imm, I.Sf); break;
                case Op.Movz: x[I.Rd] = I.Imm; break;
                case Op.Movn: x[I.Rd] = Width(~I.Imm, I.Sf); break;
                case Op.Movk: x[I.Rd] = Width((x[I.Rd] & ~(0xFFFFUL << I.A)) | I.Imm, I.Sf); break;
                case Op.Ubfm: x[I.Rd] = Alu.Ubfm(x[I.Rn], in I); break;
                case Op.Sbfm: x[I.Rd] = Alu.Sbfm(x[I.Rn], in I); break;
                case Op.Bfm: x[I.Rd] = Alu.Bfm(x[I.Ra], x[I.Rn], in I); break;
                case Op.Extr: x[I.Rd] = Alu.Extr(x[I.Rn], x[I.Rm], I.A, I.Sf); break;

                // ---- Data processing: register ----
                case Op.AndReg: x[I.Rd] = Width(x[I.Rn] & Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.BicReg: x[I.Rd] = Width(x[I.Rn] & ~Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.OrrReg: x[I.Rd] = Width(x[I.Rn] | Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.OrnReg: x[I.Rd] = Width(x[I.Rn] | ~Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.EorReg: x[I.Rd] = Width(x[I.Rn] ^ Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.EonReg: x[I.Rd] = Width(x[I.Rn] ^ ~Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.AndsReg: x[I.Rd] = LogicalFlags(x[I.Rn] & Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.BicsReg: x[I.Rd] = LogicalFlags(x[I.Rn] & ~Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.AddReg: x[I.Rd] = Width(x[I.Rn] + Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.SubReg: x[I.Rd] = Width(x[I.Rn] - Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), I.Sf); break;
                case Op.AddsReg: x[I.Rd] = AddFlags(x[I.Rn], Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), 0, I.Sf); break;
                case Op.SubsReg: x[I.Rd] = AddFlags(x[I.Rn], ~Alu.Shift(x[I.Rm], I.A, I.B, I.Sf), 1, I.Sf); break;
                case Op.AddExt: x[I.Rd] = Width(x[I.Rn] + Alu.ExtendReg(x[I.Rm], I.A, I.B), I.Sf); break;
                case Op.SubExt: x[I.Rd] = Width(x[I.Rn] - Alu.ExtendReg(x[I.Rm], I.A, I.B), I.Sf); break;
                case Op.AddsExt: x[I.Rd] = AddFlags(x[I.Rn], Alu.ExtendReg(x[I.Rm], I.A, I.B), 0, I.Sf); break;
                case Op.SubsExt: x[I.Rd] = AddFlags(x[I.Rn], ~Alu.ExtendReg(x[I.Rm], I.A, I.B), 1, I.Sf); break;
                case Op.Adc: x[I.Rd] = Width(x[I.Rn] + x[I.Rm] + ((s->Nzcv >> 29) & 1), I.Sf); break;
                case Op.Sbc: x[I.Rd] = Width(x[I.Rn] + ~x[I.Rm] + ((s->Nzcv >> 29) & 1), I.Sf); break;
                case Op.Adcs: x[I.Rd] = AddFlags(x[I.Rn], x[I.Rm], (s->Nzcv >> 29) & 1, I.Sf); break;
                case Op.Sbcs: x[I.Rd] = AddFlags(x[I.Rn], ~x[I.Rm], (s->Nzcv >> 29) & 1, I.Sf); break;
                case Op.CcmnReg: CondCompare(x[I.Rn], x[I.Rm], 0, in I); break;
                case Op.CcmpReg: CondCompare(x[I.Rn], ~x[I.Rm], 1, in I); break;
                case Op.CcmnImm: CondCompare(x[I.Rn], I.Imm, 0, in I); break;
                case Op.CcmpImm: CondCompare(x[I.Rn], ~I.Imm, 1, in I); break;
                case Op.Csel: x[I.Rd] = Width(Flags.ConditionHolds(I.C, s->Nzcv) ? x[I.Rn] : x[I.Rm], I.Sf); break;
                case Op.Csinc: x[I.Rd] = Width(Flags.ConditionHolds(I.C, s->Nzcv) ? x[I.Rn] : x[I.Rm] + 1, I.Sf); break;
                case Op.Csinv: x[I.Rd] = Width(Flags.ConditionHolds(I.C, s->Nzcv) ? x[I.Rn] : ~x[I.Rm], I.Sf); break;
                case Op.Csneg: x[I.Rd] = Width(Flags.ConditionHolds(I.C, s->Nzcv) ? x[I.Rn] : 0 - x[I.Rm], I.Sf); break;
                case Op.Madd: x[I.Rd] = Width(x[I.Ra] + x[I.Rn] * x[I.Rm], I.Sf); break;
                case Op.Msub: x[I.Rd] = Width(x[I.Ra] - x[I.Rn] * x[I.Rm], I.Sf); break;
                case Op.Smaddl: x[I.Rd] = x[I.Ra] + (ulong)((long)(int)x[I.Rn] * (int)x[I.Rm]); break;
                case Op.Smsubl: x[I.Rd] = x[I.Ra] - (ulong)((long)(int)x[I.Rn] * (int)x[I.Rm]); break;
                case Op.Umaddl: x[I.Rd] = x[I.Ra] + (ulong)(uint)x[I.Rn] * (uint)x[I.Rm]; break;
                case Op.Umsubl: x[I.Rd] = x[I.Ra] - (ulong)(uint)x[I.Rn] * (uint)x[I.Rm]; break;
                case Op.Smulh: x[I.Rd] = (ulong)Math.BigMul((long)x[I.Rn], (long)x[I.Rm], out _); break;
                case Op.Umulh: x[I.Rd] = Math.BigMul(x[I.Rn], x[I.Rm], out _); break;
                case Op.Udiv: x[I.Rd] = Alu.Udiv(x[I.Rn], x[I.Rm], I.Sf); break;
                case Op.Sdiv: x[I.Rd] = Alu.Sdiv(x[I.Rn], x[I.Rm], I.Sf); break;
                case Op.Lslv: x[I.Rd] = Alu.Shift(x[I.Rn], 0, (int)x[I.Rm] & (I.Sf != 0 ? 63 : 31), I.Sf); break;
                case Op.Lsrv: x[I.Rd] = Alu.Shift(x[I.Rn], 1, (int)x[I.Rm] & (I.Sf != 0 ? 63 : 31), I.Sf); break;
                case Op.Asrv: x[I.Rd] = Alu.Shift(x[I.Rn], 2, (int)x[I.Rm] & (I.Sf != 0 ? 63 : 31), I.Sf); break;
                case Op.Rorv: x[I.Rd] = Alu.Shift(x[I.Rn], 3, (int)x[I.Rm] & (I.Sf != 0 ? 63 : 31), I.Sf); break;
                case Op.Crc32: x[I.Rd] = Crc.Crc32((uint)x[I.Rn], x[I.Rm], I.A); break;
                case Op.Crc32c: x[I.Rd] = Crc.Crc32c((uint)x[I.Rn], x[I.Rm], I.A); break;
                case Op.Rbit: x[I.Rd] = Alu.Rbit(x[I.Rn], I.Sf); break;
                case Op.Rev16: x[I.Rd] = Alu.Rev16(x[I.Rn], I.Sf); break;
                case Op.Rev32: x[I.Rd] = Alu.Rev32(x[I.Rn]); break;
                case Op.Rev: x[I.Rd] = Alu.Rev(x[I.Rn], I.Sf); break;
                case Op.Clz: x[I.Rd] = Alu.Clz(x[I.Rn], I.Sf); break;
                case Op.Cls: x[I.Rd] = Alu.Cls(x[I.Rn], I.Sf); break;

                // ---- Branches ----
                case Op.B: s->PC = pc + I.Imm; status = Redirect; goto Done;
                case Op.Bl: x[30] = pc + 4; s->PC = pc + I.Imm; status = Redirect; goto Done;
                case Op.BCond:
                    s->PC = Flags.ConditionHolds(I.C, s->Nzcv) ? pc + I.Imm : pc + 4; status = Redirect; goto Done;
                case Op.Cbz:
                    s->PC = Width(x[I.Rd], I.Sf) == 0 ? pc + I.Imm : pc + 4; status = Redirect; goto Done;
                case Op.Cbnz:
                    s->PC = Width(x[I.Rd], I.Sf) != 0 ? pc + I.Imm : pc + 4; status = Redirect; goto Done;
                case Op.Tbz:
                    s->PC = ((x[I.Rd] >> I.A) & 1) == 0 ? pc + I.Imm : pc + 4; status = Redirect; goto Done;
                case Op.Tbnz:
                    s->PC = ((x[I.Rd] >> I.A) & 1) != 0 ? pc + I.Imm : pc + 4; status = Redirect; goto Done;
                case Op.Br: case Op.Ret: s->PC = x[I.Rn]; status = Redirect; goto Done;
                case Op.Blr: { ulong target = x[I.Rn]; x[30] = pc + 4; s->PC = target; status = Redirect; goto Done; }

                // ---- Loads and stores ----
                case Op.LdStUimm: case Op.LdStUnscaled:
                    if (I.Rn == 31 && SpMisaligned()) { status = SpAlignmentFault(); goto Done; }
                    if (!LoadStore(in I, x[I.Rn] + I.Imm)) { status = Faulted; goto Done; }
                    break;
                case Op.LdStUnpriv:
                    // LDTR/STTR check EL0 permissions whatever the current EL (no PAN/UAO in this CPU).
                    if (I.Rn == 31 && SpMisaligned()) { status = SpAlignmentFault(); goto Done; }
                    if (!LoadStore(in I, x[I.Rn] + I.Imm, 0)) { status = Faulted; goto Done; }
                    break;
                case Op.LdStPre:
                {
                    if (I.Rn == 31 && SpMisaligned()) { status = SpAlignmentFault(); goto Done; }
                    ulong ea = x[I.Rn] + I.Imm;
                    if (!LoadStore(in I, ea)) { status = Faulted; goto Done; }
                    x[I.Rn] = ea;
                    break;
                }
                case Op.LdStPost:
                {
                    if (I.Rn == 31 && SpMisaligned()) { status = SpAlignmentFault(); goto Done; }
                    ulong ea = x[I.Rn];
                    if (!LoadStore(in I, ea)) { status = Faulted; goto Done; }
                    x[I.Rn] = ea + I.Imm;
                    break;
                }
                case Op.LdStReg:
                    if (I.Rn == 31 && SpMisaligned()) { status = SpAlignmentFault(); goto Done; }
                    if (!LoadStore(in I, x[I.Rn] + Alu.ExtendReg(x[I.Rm], I.C, (int)I.Imm))) { status = Faulted; goto Done; }
                    break;
                case Op.LdrLit: case Op.LdrswLit:
                    if (!LoadStore(in I, pc + I.Imm)) { status = Faulted; goto Done; }
                    break;
                case Op.PrfmImm: case Op.PrfmReg: case Op.Prfum: case Op.PrfmLit:
                    break;
                case Op.StpOff: case Op.LdpOff: case Op.LdpswOff: case Op.Stnp: case Op.Ldnp:
                    if (I.Rn == 31 && SpMisaligned()) { status = SpAlignmentFault(); goto Done; }
                    if (!LoadStorePair(in I, x[I.Rn] + I.Imm)) { status = Faulted; goto Done; }
                    break;
                case Op.StpPre: case Op.LdpPre: case Op.LdpswPre:
                {
                    if (I.Rn == 31 && SpMisaligned()) { status = SpAlignmentFault(); goto Done; }
                    ulong ea = x[I.Rn] + I.Imm;
                    if (!LoadStorePair(in I, ea)) { status = Faulted; goto Done; }
                    x[I.Rn] = ea;
                    break;
                }
                case Op.StpPost: case Op.LdpPost: case Op.LdpswPost:
                {
                    if (I.Rn == 31 && SpMisaligned()) { status = SpAlignmentFault(); goto Done; }
                    ulong ea = x[I.Rn];
                    if (!LoadStorePair(in I, ea)) { status = Faulted; goto Done; }
                    x[I.Rn] = ea + I.Imm;
                    break;
                }
                case Op.Ldxr: case Op.Ldaxr: case Op.Stxr: case Op.Stlxr:
                case Op.Ldxp: case Op.Ldaxp: case Op.Stxp: case Op.Stlxp:
                case Op.Ldar: case Op.Stlr: case Op.Cas: case Op.Casp:
                case Op.Ldadd: case Op.Ldclr: case Op.Ldeor: case Op.Ldset:
                case Op.Ldsmax: case Op.Ldsmin: case Op.Ldumax: case Op.Ldumin: case Op.Swp:
                    if (I.Rn == 31 && SpMisaligned()) { status = SpAlignmentFault(); goto Done; }
                    if (!Atomic(in I, x[I.Rn])) { status = Faulted; goto Done; }
                    break;

                // ---- Exceptions and system; FP and AdvSIMD ----
                default:
                    status = I.Op >= Op.FpFirst ? FpSimd(in I, pc) : System(in I, pc);
                    if (status != -1) goto Done;
                    break;
            }
        }
        // Fell off the end of the block (page end or length limit).
        s->PC = pc;
        s->Retired += (ulong)n;
        interpreted += (ulong)n;
        Consume(ref budget, n);
        return -1;

    Done:
        int retired = status == Faulted ? i : i + 1;
        s->Retired += (ulong)retired;
        interpreted += (ulong)retired;
        Consume(ref budget, retired);
        return status >= 0 ? status : -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Consume(ref ulong budget, int count) => budget = budget > (ulong)count ? budget - (ulong)count : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Width(ulong value, byte sf) => sf != 0 ? value : (uint)value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong AddFlags(ulong a, ulong b, ulong carry, byte sf)
    {
        if (sf != 0) return Flags.AddWithCarry64(a, b, carry, out s->Nzcv);
        return Flags.AddWithCarry32((uint)a, (uint)b, (uint)carry, out s->Nzcv);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong LogicalFlags(ulong result, byte sf)
    {
        if (sf != 0)
        {
            s->Nzcv = Flags.Logical64(result);
            return result;
        }
        s->Nzcv = Flags.Logical32((uint)result);
        return (uint)result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CondCompare(ulong a, ulong b, ulong carry, in Inst I)
    {
        if (Flags.ConditionHolds(I.C, s->Nzcv)) AddFlags(a, b, carry, I.Sf);
        else s->Nzcv = (ulong)I.B << 28;
    }

    /// <summary>SCTLR_EL1.SA/SA0 (D1.8.2): an SP-based access with SP not 16-byte aligned faults.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool SpMisaligned() => (s->X[31] & 15) != 0 && (s->SctlrEl1 & (s->EL == 0 ? 0x10UL : 0x8UL)) != 0;

    private int SpAlignmentFault()
    {
        ExceptionEntry.SpAlignment(s);
        return Faulted;
    }
}

/// <summary>A block was decoded: its guest virtual and physical addresses and its instruction words.</summary>
public delegate void BlockTranslatedHandler(ulong va, ulong pa, ReadOnlySpan<uint> words);
