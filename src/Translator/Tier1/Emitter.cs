using System.Reflection;
using System.Reflection.Emit;

namespace Jit.Translator.Tier1;

/// <summary>
/// A thin layer over <see cref="ILGenerator"/> so the instruction emitters read as stack code in the manual's
/// vocabulary: every method pushes or pops what its name says, nothing more (no verification, no optimisation;
/// RyuJIT does the rest).
/// </summary>
internal sealed class Emitter(ILGenerator il)
{
    public ILGenerator IL { get; } = il;

    // `jit disasm` lists the IL of the compile it inspects; every other compile has none and pays a null test.
    private readonly Inspection.IlRecorder? recorder = Inspection.IlRecorder.Current;

    public LocalBuilder Local<T>()
    {
        var l = IL.DeclareLocal(typeof(T));
        recorder?.Local(l);
        return l;
    }

    public Label Label()
    {
        var l = IL.DefineLabel();
        recorder?.Label(l);
        return l;
    }

    public void Mark(Label l)
    {
        recorder?.Mark(IL, l);
        IL.MarkLabel(l);
    }

    public void Arg(int n)
    {
        recorder?.Emit(IL, OpCodes.Ldarg, n);
        IL.Emit(OpCodes.Ldarg, (short)n);
    }

    public void Ld(LocalBuilder l)
    {
        recorder?.Emit(IL, OpCodes.Ldloc, l);
        IL.Emit(OpCodes.Ldloc, l);
    }

    public void St(LocalBuilder l)
    {
        recorder?.Emit(IL, OpCodes.Stloc, l);
        IL.Emit(OpCodes.Stloc, l);
    }

    public void Addr(LocalBuilder l)
    {
        recorder?.Emit(IL, OpCodes.Ldloca, l);
        IL.Emit(OpCodes.Ldloca, l);
    }

    public void I4(int v)
    {
        recorder?.Emit(IL, OpCodes.Ldc_I4, v);
        IL.Emit(OpCodes.Ldc_I4, v);
    }

    public void U8(ulong v)
    {
        recorder?.Emit(IL, OpCodes.Ldc_I8, (long)v);
        IL.Emit(OpCodes.Ldc_I8, (long)v);
    }

    public void Op(OpCode op)
    {
        recorder?.Emit(IL, op);
        IL.Emit(op);
    }

    public void Br(OpCode op, Label l)
    {
        recorder?.Emit(IL, op, l);
        IL.Emit(op, l);
    }

    public void Call(MethodInfo m)
    {
        var op = m.IsStatic ? OpCodes.Call : OpCodes.Callvirt;
        recorder?.Emit(IL, op, m);
        IL.Emit(op, m);
    }

    /// <summary>Pops a value and an object and stores the value in the object's field <paramref name="f"/>.</summary>
    public void StoreField(FieldInfo f)
    {
        recorder?.Emit(IL, OpCodes.Stfld, f);
        IL.Emit(OpCodes.Stfld, f);
    }

    /// <summary>Pops an object and pushes its field <paramref name="f"/>.</summary>
    public void LoadField(FieldInfo f)
    {
        recorder?.Emit(IL, OpCodes.Ldfld, f);
        IL.Emit(OpCodes.Ldfld, f);
    }

    /// <summary>The argument that holds the <c>CpuState*</c>.</summary>
    public int StateArg { get; init; }

    /// <summary>Pushes the value at <c>state + offset</c> (a <c>CpuState</c> field).</summary>
    public void LoadState(int offset, OpCode load)
    {
        Arg(StateArg);
        I4(offset);
        Op(OpCodes.Add);
        Op(load);
    }

    /// <summary>Stores the value in <paramref name="value"/> at <c>state + offset</c>.</summary>
    public void StoreState(int offset, LocalBuilder value, OpCode store)
    {
        Arg(StateArg);
        I4(offset);
        Op(OpCodes.Add);
        Ld(value);
        Op(store);
    }

    /// <summary>Truncates the ulong on the stack to 32 bits (zero-extended) when the operation is 32-bit.</summary>
    public void Width(byte sf)
    {
        if (sf != 0) return;
        Op(OpCodes.Conv_U4);
        Op(OpCodes.Conv_U8);
    }

    /// <summary>Replaces the int32 boolean on the stack by its negation.</summary>
    public void Not()
    {
        I4(0);
        Op(OpCodes.Ceq);
    }

    public static MethodInfo Method(Type t, string name, params Type[] args) =>
        t.GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance, args)
        ?? throw new MissingMethodException(t.Name, name);
}
