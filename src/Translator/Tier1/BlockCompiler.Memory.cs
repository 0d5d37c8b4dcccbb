using System.Reflection.Emit;
using Jit.Runtime;
using Jit.Runtime.Exceptions;
using Jit.Runtime.Memory;
using Jit.Runtime.SystemRegisters;
using Jit.Translator.Decoder;
using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1;

/// <summary>Block-ending branches and the LDR/STR/LDP/STP families, following the interpreter's cases.</summary>
internal sealed unsafe partial class BlockCompiler
{
    private bool EmitBranchOrMemory(int i, in Inst I)
    {
        long here = Here(i);
        switch (I.Op)
        {
            // ---- Branches: each ends the block ----
            case Op.B: Edge(i + 1, here + (long)I.Imm); return true;
            case Op.Bl:
            {
                PcPlus(here + 4); St(30);
                ExitTo(i + 1, here + (long)I.Imm);
                return true;
            }
            case Op.BCond: Condition(I.C); ConditionalBranch(i, here + (long)I.Imm); return true;
            case Op.Cbz: case Op.Cbnz:
                Ld(I.Rd); e.Width(I.Sf); e.U8(0); e.Op(OpCodes.Ceq);
                if (I.Op == Op.Cbnz) e.Not();
                ConditionalBranch(i, here + (long)I.Imm);
                return true;
            case Op.Tbz: case Op.Tbnz:
                Ld(I.Rd); e.I4(I.A); e.Op(OpCodes.Shr_Un); e.U8(1); e.Op(OpCodes.And); e.U8(0); e.Op(OpCodes.Ceq);
                if (I.Op == Op.Tbnz) e.Not();
                ConditionalBranch(i, here + (long)I.Imm);
                return true;
            // An indirect branch has a successor slot too, holding the target it took last: a return to the
            // same caller, or a call through the same pointer, then skips the jump cache.
            case Op.Br: case Op.Ret:
                Ld(I.Rn); e.St(target);
                ExitTo(i + 1, () => e.Ld(target), staticExits++);
                return true;
            case Op.Blr:
                Ld(I.Rn); e.St(target);
                PcPlus(here + 4); St(30);
                ExitTo(i + 1, () => e.Ld(target), staticExits++);
                return true;

            // ---- Loads and stores ----
            case Op.LdStUimm: case Op.LdStUnscaled: case Op.LdStUnpriv:
                SpAlignmentCheck(i, I.Rn);
                Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.Add); e.St(va);
                // LDTR/STTR check EL0 permissions whatever the current EL (no PAN/UAO in this CPU).
                Single(i, I, I.Op == Op.LdStUnpriv);
                break;
            case Op.LdStPre:
                SpAlignmentCheck(i, I.Rn);
                Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.Add); e.St(va);
                Single(i, I, false);
                e.Ld(va); St(I.Rn);
                break;
            case Op.LdStPost:
                SpAlignmentCheck(i, I.Rn);
                Ld(I.Rn); e.St(va);
                Single(i, I, false);
                e.Ld(va); e.U8(I.Imm); e.Op(OpCodes.Add); St(I.Rn);
                break;
            case Op.LdStReg:
                SpAlignmentCheck(i, I.Rn);
                Ld(I.Rn);
                Ld(I.Rm); e.I4(I.C); e.I4((int)I.Imm);
                e.Call(Emitter.Method(typeof(Alu), nameof(Alu.ExtendReg), typeof(ulong), typeof(int), typeof(int)));
                e.Op(OpCodes.Add); e.St(va);
                Single(i, I, false);
                break;
            case Op.LdrLit: case Op.LdrswLit:
                PcPlus(here + (long)I.Imm); e.St(va);
                Single(i, I, false);
                break;
            case Op.PrfmImm: case Op.PrfmReg: case Op.Prfum: case Op.PrfmLit:
                break;
            case Op.StpOff: case Op.LdpOff: case Op.LdpswOff: case Op.Stnp: case Op.Ldnp:
                SpAlignmentCheck(i, I.Rn);
                Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.Add); e.St(va);
                Pair(i, I);
                break;
            case Op.StpPre: case Op.LdpPre: case Op.LdpswPre:
                SpAlignmentCheck(i, I.Rn);
                Ld(I.Rn); e.U8(I.Imm); e.Op(OpCodes.Add); e.St(va);
                Pair(i, I);
                e.Ld(va); St(I.Rn);
                break;
            case Op.StpPost: case Op.LdpPost: case Op.LdpswPost:
                SpAlignmentCheck(i, I.Rn);
                Ld(I.Rn); e.St(va);
                Pair(i, I);
                e.Ld(va); e.U8(I.Imm); e.Op(OpCodes.Add); St(I.Rn);
                break;
            default:
                throw new InvalidOperationException($"tier 1 has no emitter for {I.Op}");
        }
        return false;
    }

    /// <summary>Goes to <paramref name="taken"/> (an offset from the entry) if the int32 on the stack is non-zero, else to the next instruction.</summary>
    private void ConditionalBranch(int i, long taken)
    {
        Label notTaken = e.Label();
        e.Br(OpCodes.Brfalse, notTaken);
        Edge(i + 1, taken);
        e.Mark(notTaken);
        Edge(i + 1, Here(i + 1));
    }

    /// <summary>SCTLR_EL1.SA/SA0 (D1.8.2): an SP-based access with SP not 16-byte aligned faults; checked out of line.</summary>
    private void SpAlignmentCheck(int i, int rn)
    {
        if (rn != 31) return;
        Label slow = e.Label(), resume = e.Label();
        Ld(31); e.U8(15); e.Op(OpCodes.And); e.U8(0); e.Br(OpCodes.Bne_Un, slow);
        e.Mark(resume);
        FlagState f = flags;
        long here = Here(i);
        spAlignmentUsed = true;
        cold.Add(() =>
        {
            e.Mark(slow);
            e.Arg(ArgState);
            e.Call(Emitter.Method(typeof(Tier1Ops), nameof(Tier1Ops.SpAlignmentChecked), typeof(CpuState*)));
            e.Br(OpCodes.Brfalse, resume);
            SetPc(() => PcPlus(here));
            LeaveForFault(i, f, spAlignmentExit);
        });
    }

    /// <summary>One access of 1 &lt;&lt; I.A bytes at <c>va</c>: a store of X[Rd] or a load into it, extended per I.B.</summary>
    private void Single(int i, in Inst I, bool asEl0)
    {
        int size = 1 << I.A;
        if (I.B == LoadKind.Store)
        {
            Ld(I.Rd); e.St(val1);
            Write(i, va, size, val1, asEl0);
            return;
        }
        Read(i, va, size, val1, asEl0);
        e.Ld(val1); Extend(I.A, I.B); St(I.Rd);
    }

    /// <summary>Two consecutive accesses; loads write no register unless both reads succeed.</summary>
    private void Pair(int i, in Inst I)
    {
        int size = 1 << I.A;
        e.Ld(va); e.U8((ulong)size); e.Op(OpCodes.Add); e.St(va2);
        if (I.B == LoadKind.Store)
        {
            Ld(I.Rd); e.St(val1);
            Write(i, va, size, val1, false);
            Ld(I.Ra); e.St(val2);
            Write(i, va2, size, val2, false);
            return;
        }
        Read(i, va, size, val1, false);
        Read(i, va2, size, val2, false);
        e.Ld(val1); Extend(I.A, I.B); St(I.Rd);
        e.Ld(val2); Extend(I.A, I.B); St(I.Ra);
    }

    /// <summary>Extends the loaded ulong on the stack as the load kind says (the load zero-extended it).</summary>
    private void Extend(int sizeLog2, byte kind)
    {
        if (kind == LoadKind.Zero || (sizeLog2 == 3 && kind == LoadKind.Signed64)) return;
        e.Op(sizeLog2 switch { 0 => OpCodes.Conv_I1, 1 => OpCodes.Conv_I2, 2 => OpCodes.Conv_I4, _ => OpCodes.Conv_I8 });
        e.Op(kind == LoadKind.Signed64 ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
    }

    /// <summary>
    /// LDAR and STLR (the kernel's smp_load_acquire and smp_store_release, 1.3 M times on find / plus 300
    /// fork+execs): a load or store through the TLB with the interpreter's full barrier after the load or before
    /// the store. A misaligned address goes to the executor, which takes the alignment fault these require
    /// whatever SCTLR_EL1.A says. False for any other instruction.
    /// </summary>
    private bool TryAcquireRelease(int i, Block member, in Inst inst)
    {
        if (inst.Op is not (Op.Ldar or Op.Stlr)) return false;
        int size = 1 << inst.A;
        Label stub = e.Label(), resume = e.Label();
        SpAlignmentCheck(i, inst.Rn);
        Ld(inst.Rn); e.St(va);
        e.Ld(va); e.U8((ulong)(size - 1)); e.Op(OpCodes.And); e.U8(0); e.Br(OpCodes.Bne_Un, stub);
        if (inst.Op == Op.Ldar)
        {
            Read(i, va, size, val1, false);
            e.Call(MemoryBarrier);
            e.Ld(val1); St(inst.Rd);
        }
        else
        {
            e.Call(MemoryBarrier);
            Ld(inst.Rd); e.St(val1);
            Write(i, va, size, val1, false);
        }
        e.Mark(resume);
        ExecutorStub(i, member, in inst, stub, resume, keepsFlags: true);
        return true;
    }

    /// <summary>
    /// The LSE atomics the kernel's spinlocks, reference counts and cmpxchg use (2.4 M CAS and LDADD alone on
    /// find / plus 300 fork+execs, each a trip through the executor before): on a write-TLB hit, one host
    /// locked instruction on the page (the entry proves alignment and write permission, and never maps code);
    /// a miss, a misaligned address or a fault goes to the executor, which fills the TLB or takes the abort.
    /// CASP and the exclusives stay with the executor. False for any other instruction.
    /// </summary>
    private bool TryAtomic(int i, Block member, in Inst inst)
    {
        if (!inlineTlb || inst.Op is not (Op.Cas or Op.Ldadd or Op.Ldclr or Op.Ldeor or Op.Ldset or Op.Ldsmax
                or Op.Ldsmin or Op.Ldumax or Op.Ldumin or Op.Swp)) return false;
        int size = 1 << inst.A;
        Label stub = e.Label(), resume = e.Label();
        SpAlignmentCheck(i, inst.Rn);
        Ld(inst.Rn); e.St(va);
        TlbProbe(ArgWriteTlb, va, size, false, stub);
        bool wide = inst.A >= 2;
        string? fast = inst.Op switch
        {
            Op.Ldadd => "Add", Op.Ldset => "Set", Op.Ldclr => "Clear", Op.Swp => "Swap", Op.Cas => "CompareAndSwap",
            _ => null,
        };
        if (inst.Op == Op.Cas)
        {
            if (wide)
            {
                Ld(inst.Rm); Ld(inst.Rd);
                e.Call(Emitter.Method(typeof(HostAtomics), fast + (inst.A == 2 ? "32" : "64"), typeof(byte*), typeof(ulong), typeof(ulong)));
            }
            else
            {
                e.St(entry);
                e.Ld(entry); e.I4(inst.A); Ld(inst.Rm); Ld(inst.Rd);
                e.Call(Emitter.Method(typeof(HostAtomics), nameof(HostAtomics.CompareAndSwap), typeof(byte*), typeof(int), typeof(ulong), typeof(ulong)));
            }
            St(inst.Ra);
        }
        else
        {
            if (wide && fast != null)
            {
                Ld(inst.Rm);
                e.Call(Emitter.Method(typeof(HostAtomics), fast + (inst.A == 2 ? "32" : "64"), typeof(byte*), typeof(ulong)));
            }
            else
            {
                e.St(entry);
                e.Ld(entry); e.I4(inst.A); e.I4((int)inst.Op); Ld(inst.Rm);
                e.Call(Emitter.Method(typeof(HostAtomics), nameof(HostAtomics.ReadModifyWrite), typeof(byte*), typeof(int), typeof(Op), typeof(ulong)));
            }
            St(inst.Rd);
        }
        e.Mark(resume);
        ExecutorStub(i, member, in inst, stub, resume, keepsFlags: true);
        return true;
    }

    /// <summary>DC ZVA's key (op1 3, CRn 7, CRm 4, op2 1).</summary>
    private static readonly int DcZvaKey = SystemRegisterFile.Key(1, 3, 7, 4, 1);

    /// <summary>
    /// DC ZVA (Linux clears every new page with it, 4.6 M times on find / plus 300 fork+execs): the 64-byte
    /// block zeroed through the write TLB, or on a miss by the MMU's eight 8-byte writes, which take the
    /// abort of the first that fails, as the interpreter does. At EL0 without SCTLR_EL1.DZE the executor
    /// takes the trap. False for any other SYS instruction.
    /// </summary>
    private bool TryZeroBlock(int i, Block member, in Inst inst)
    {
        if (inst.Op != Op.Sys || (int)inst.Imm != DcZvaKey) return false;
        Label stub = e.Label(), resume = e.Label(), allowed = e.Label(), miss = e.Label(), done = e.Label();
        e.Ld(el); e.Br(OpCodes.Brtrue, allowed);
        e.LoadState(SctlrOffset, OpCodes.Ldind_I8); e.U8(1UL << 14); e.Op(OpCodes.And); e.Br(OpCodes.Brfalse, stub);
        e.Mark(allowed);
        Ld(inst.Rd); e.U8(~63UL); e.Op(OpCodes.And); e.St(va);
        long here = Here(i);
        void Slow()
        {
            e.Arg(ArgMmu); e.Ld(va); e.Ld(el); PcPlus(here);
            e.Call(ZeroBlockDeferred);
        }
        if (inlineTlb)
        {
            TlbProbe(ArgWriteTlb, va, 1, false, miss);
            e.I4(0); e.I4(64); e.Op(OpCodes.Initblk);
        }
        else e.Br(OpCodes.Br, miss);
        e.Mark(done);
        Guarded(i, Slow, done, miss);
        e.Mark(resume);
        ExecutorStub(i, member, in inst, stub, resume, keepsFlags: true);
        return true;
    }

    /// <summary>
    /// Emits the soft-TLB probe of Mmu.ReadAs/WriteAs for <paramref name="addr"/>: leaves the entry in the
    /// <c>entry</c> local and branches to <paramref name="miss"/> unless its tag equals the page of the address
    /// with the alignment bits kept (so a misaligned access misses too).
    /// </summary>
    private void TlbProbe(int table, LocalBuilder addr, int size, bool asEl0, Label miss)
    {
        // The entry is base + index * 16, with the index's EL bits already in the base (see TlbBase).
        if (asEl0) e.Arg(table); else e.Ld(TlbBase(table));
        e.Ld(addr); e.I4(12 - 4); e.Op(OpCodes.Shr_Un); e.U8((SoftTlb.Entries - 1) << 4); e.Op(OpCodes.And);
        e.Op(OpCodes.Conv_U);
        e.Op(OpCodes.Add);
        e.St(entry);
        e.Ld(entry); e.Op(OpCodes.Ldind_I8);
        e.Ld(addr); e.U8(~0xFFFUL | (ulong)(size - 1)); e.Op(OpCodes.And);
        e.Br(OpCodes.Bne_Un, miss);
        // Host address: va + addend.
        e.Ld(addr); e.Ld(entry); e.I4(8); e.Op(OpCodes.Add); e.Op(OpCodes.Ldind_I8); e.Op(OpCodes.Add); e.Op(OpCodes.Conv_U);
    }

    /// <summary>
    /// The local holding the current EL's part of TLB table argument <paramref name="table"/>, computed once in
    /// the prologue: EL cannot change inside a region (ERET and exceptions leave it).
    /// </summary>
    private LocalBuilder TlbBase(int table) => table == ArgReadTlb ? readBase ??= e.Local<nint>() : writeBase ??= e.Local<nint>();

    private void PushEl(bool asEl0)
    {
        if (asEl0) e.I4(0); else e.Ld(el);
    }

    private void Read(int i, LocalBuilder addr, int size, LocalBuilder value, bool asEl0)
    {
        Label miss = e.Label(), done = e.Label();
        long here = Here(i);
        void Slow()
        {
            e.Arg(ArgMmu); e.Ld(addr); e.I4(size); PushEl(asEl0); PcPlus(here);
            e.Call(ReadDeferred);
            e.Arg(ArgMmu); e.LoadField(MmuLoaded); e.St(value); // under the call's bool, which Guarded tests
        }
        if (!inlineTlb)
        {
            e.Br(OpCodes.Br, miss);
            e.Mark(done);
            Guarded(i, Slow, done, miss);
            return;
        }
        TlbProbe(ArgReadTlb, addr, size, asEl0, miss);
        e.Op(size switch { 1 => OpCodes.Ldind_U1, 2 => OpCodes.Ldind_U2, 4 => OpCodes.Ldind_U4, _ => OpCodes.Ldind_I8 });
        if (size != 8) e.Op(OpCodes.Conv_U8);
        e.St(value);
        e.Mark(done);
        Guarded(i, Slow, done, miss);
    }

    private void Write(int i, LocalBuilder addr, int size, LocalBuilder value, bool asEl0)
    {
        Label miss = e.Label(), done = e.Label();
        long here = Here(i);
        void Slow()
        {
            e.Arg(ArgMmu); e.Ld(addr); e.I4(size); PushEl(asEl0); PcPlus(here); e.Ld(value);
            e.Call(WriteDeferred);
        }
        if (!inlineTlb)
        {
            e.Br(OpCodes.Br, miss);
            e.Mark(done);
            Guarded(i, Slow, done, miss);
            return;
        }
        TlbProbe(ArgWriteTlb, addr, size, asEl0, miss);
        e.Ld(value);
        if (size != 8) e.Op(OpCodes.Conv_U4);
        e.Op(size switch { 1 => OpCodes.Stind_I1, 2 => OpCodes.Stind_I2, 4 => OpCodes.Stind_I4, _ => OpCodes.Stind_I8 });
        e.Mark(done);
        Guarded(i, Slow, done, miss);
    }
}
