using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.InteropServices;
using Jit.Runtime;
using Jit.Runtime.Exceptions;
using Jit.Runtime.Memory;
using Jit.Translator.Decoder;
using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1;

/// <summary>
/// A block compiled to IL. It runs the block's first instructions from <paramref name="pc"/> (the block is
/// keyed by physical address, so the virtual PC comes in as an argument), leaves <c>s-&gt;PC</c> at the next
/// instruction to run and returns how many instructions retired. A guest fault has already been taken as the
/// guest's exception by the helper that reported it; the count then excludes the faulting instruction.
/// Called with a null <paramref name="s"/> it returns −1 at once: the background compiler calls it that way to
/// make RyuJIT compile it off the vCPU thread.
/// </summary>
public unsafe delegate int CompiledBlock(CpuState* s, Mmu mmu, TlbEntry* readTlb, TlbEntry* writeTlb, ulong pc);

/// <summary>
/// Compiles the leading run of instructions of a <see cref="Block"/> that tier 1 covers into one
/// DynamicMethod (collectible: it lives as long as the block that holds its delegate).
/// </summary>
/// <remarks>
/// Guest registers the block touches live in IL locals: loaded once at entry, stored back at every exit and
/// before every helper that can take an exception (which reads SP, PC and PSTATE). Flags are kept symbolic
/// after a flag-setting instruction (its operands in locals) and evaluated per consumer (B.cond after CMP is one
/// compare); the packed NZCV is materialised only where a consumer needs it whole and at exits.
/// Slow paths (TLB miss, SP alignment) are emitted after the body so the hot path falls through.
/// </remarks>
internal sealed unsafe partial class BlockCompiler
{
    private static readonly int XOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.X));
    private static readonly int PcOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.PC));
    private static readonly int NzcvOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.Nzcv));
    private static readonly int ElOffset = (int)Marshal.OffsetOf<CpuState>(nameof(CpuState.EL));

    private static readonly MethodInfo ReadAs = Emitter.Method(typeof(Mmu), nameof(Mmu.ReadAs), typeof(ulong), typeof(int), typeof(uint), typeof(ulong).MakeByRefType());
    private static readonly MethodInfo WriteAs = Emitter.Method(typeof(Mmu), nameof(Mmu.WriteAs), typeof(ulong), typeof(int), typeof(uint), typeof(ulong));

    private const int ArgState = 0, ArgMmu = 1, ArgReadTlb = 2, ArgWriteTlb = 3, ArgPc = 4;

    private readonly Emitter e;
    private readonly Inst[] insts;
    private readonly int count;
    private readonly bool inlineTlb;
    private readonly LocalBuilder?[] regs = new LocalBuilder?[32];
    private readonly bool[] written = new bool[32];
    private readonly List<Action> cold = [];
    private readonly LocalBuilder nzcv, fa, fb, fres, el, elBits, va, va2, val1, val2, entry, target;
    private FlagState flags;

    private enum FlagKind : byte { InLocal, Add, Sub, Logical }

    /// <summary>Where NZCV is: in the <c>nzcv</c> local (dirty when changed since entry), or pending in fa/fb/fres.</summary>
    private readonly record struct FlagState(FlagKind Kind, byte Sf, bool Dirty);

    private BlockCompiler(ILGenerator il, Inst[] insts, int count, bool inlineTlb)
    {
        e = new Emitter(il);
        this.insts = insts;
        this.count = count;
        this.inlineTlb = inlineTlb;
        nzcv = e.Local<ulong>();
        fa = e.Local<ulong>();
        fb = e.Local<ulong>();
        fres = e.Local<ulong>();
        el = e.Local<uint>();
        elBits = e.Local<ulong>();
        va = e.Local<ulong>();
        va2 = e.Local<ulong>();
        val1 = e.Local<ulong>();
        val2 = e.Local<ulong>();
        entry = e.Local<nint>();
        target = e.Local<ulong>();
    }

    /// <summary>How many leading instructions of <paramref name="insts"/> tier 1 can compile.</summary>
    public static int CompilablePrefix(Inst[] insts)
    {
        int n = 0;
        while (n < insts.Length && Supported(insts[n].Op)) n++;
        return n;
    }

    public static CompiledBlock? Compile(Block block, bool inlineTlb)
    {
        int n = CompilablePrefix(block.Insts);
        if (n == 0) return null;
        var dm = new DynamicMethod($"a64_{block.Pa:x}", typeof(int),
            [typeof(CpuState*), typeof(Mmu), typeof(TlbEntry*), typeof(TlbEntry*), typeof(ulong)],
            typeof(BlockCompiler).Module, skipVisibility: true);
        new BlockCompiler(dm.GetILGenerator(), block.Insts, n, inlineTlb).EmitMethod();
        return dm.CreateDelegate<CompiledBlock>();
    }

    private void EmitMethod()
    {
        Label prologue = e.Label(), body = e.Label();
        // The warm-up call (null state) returns before touching anything.
        e.Br(OpCodes.Br, prologue);
        e.Mark(body);
        bool ended = false;
        for (int i = 0; i < count && !ended; i++) ended = EmitInstruction(i, in insts[i]);
        if (!ended) ExitTo(count, () => PcPlus(4L * count));
        foreach (var c in cold) c();

        // The prologue comes last because only now is it known which registers the block uses.
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
        e.Ld(el);
        e.Op(OpCodes.Conv_U8);
        e.I4(SoftTlb.IndexBits);
        e.Op(OpCodes.Shl);
        e.St(elBits);
        e.Br(OpCodes.Br, body);
    }

    // ---- Registers ----

    private LocalBuilder Reg(int r) => regs[r] ??= e.Local<ulong>();

    /// <summary>Pushes X[r]; 32 is the zero register.</summary>
    private void Ld(int r)
    {
        if (r >= CpuState.ZeroRegister) e.U8(0);
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

    /// <summary>Stores the registers and flags as they are at this point, so a helper or the next block sees them.</summary>
    private void WriteBack(bool[] regsWritten, FlagState f)
    {
        for (int r = 0; r < 32; r++)
        {
            if (!regsWritten[r]) continue;
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

    /// <summary>Leaves the block: PC from <paramref name="pushPc"/>, state written back, <paramref name="retired"/> returned.</summary>
    private void ExitTo(int retired, Action pushPc)
    {
        SetPc(pushPc);
        WriteBack(written, flags);
        e.I4(retired);
        e.Op(OpCodes.Ret);
    }

    /// <summary>
    /// Emits the out-of-line code for a helper that may take a guest exception: state as it is at instruction
    /// <paramref name="i"/> is written back first; <paramref name="call"/> pushes the helper's bool result; on
    /// false the block returns <paramref name="i"/> retired, on true it continues at <paramref name="resume"/>.
    /// </summary>
    private void Guarded(int i, Action call, Label resume, bool outOfLine, Label? start = null)
    {
        bool[] snapshot = (bool[])written.Clone();
        FlagState f = flags;
        void Emit()
        {
            if (start is { } s) e.Mark(s);
            SetPc(() => PcPlus(4L * i));
            WriteBack(snapshot, f);
            call();
            e.Br(OpCodes.Brtrue, resume);
            e.I4(i);
            e.Op(OpCodes.Ret);
        }
        if (outOfLine) cold.Add(Emit);
        else Emit();
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
            default:
                e.Ld(fres);
                e.Call(Emitter.Method(typeof(Tier1Ops), f.Sf != 0 ? "NzcvLogical64" : "NzcvLogical32", typeof(ulong)));
                break;
        }
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
        if (f.Kind == FlagKind.InLocal) return false;
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
