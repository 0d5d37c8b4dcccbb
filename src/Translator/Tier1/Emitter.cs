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

    public LocalBuilder Local<T>() => IL.DeclareLocal(typeof(T));
    public Label Label() => IL.DefineLabel();
    public void Mark(Label l) => IL.MarkLabel(l);

    public void Arg(int n) => IL.Emit(OpCodes.Ldarg, (short)n);
    public void Ld(LocalBuilder l) => IL.Emit(OpCodes.Ldloc, l);
    public void St(LocalBuilder l) => IL.Emit(OpCodes.Stloc, l);
    public void Addr(LocalBuilder l) => IL.Emit(OpCodes.Ldloca, l);
    public void I4(int v) => IL.Emit(OpCodes.Ldc_I4, v);
    public void U8(ulong v) => IL.Emit(OpCodes.Ldc_I8, (long)v);
    public void Op(OpCode op) => IL.Emit(op);
    public void Br(OpCode op, Label l) => IL.Emit(op, l);
    public void Call(MethodInfo m) => IL.Emit(m.IsStatic ? OpCodes.Call : OpCodes.Callvirt, m);

    /// <summary>Pushes the 64-bit value at <c>arg0 + offset</c> (a <c>CpuState</c> field).</summary>
    public void LoadState(int offset, OpCode load)
    {
        Arg(0);
        I4(offset);
        Op(OpCodes.Add);
        Op(load);
    }

    /// <summary>Stores the value in <paramref name="value"/> at <c>arg0 + offset</c>.</summary>
    public void StoreState(int offset, LocalBuilder value, OpCode store)
    {
        Arg(0);
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
