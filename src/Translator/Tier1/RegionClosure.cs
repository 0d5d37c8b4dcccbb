using System.Reflection;
using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1;

/// <summary>
/// What a compiled region reaches besides its arguments: the executor for the instructions it has no IL for,
/// those instructions as one-instruction blocks, and the successor slot of each of its static exits. The
/// region's delegate is bound to it.
/// </summary>
public sealed class RegionClosure(ISingleInstruction? executor, Block[] singles, int staticExits)
{
    private readonly ISingleInstruction? executor = executor;
    private readonly Block[] singles = singles;

    /// <summary>
    /// One successor slot per exit (a direct branch or fall-through out of the region, or an indirect branch):
    /// the block that exit led to last time, which the dispatcher enters next without a lookup while the slot
    /// still matches the PC and the translation it was found under. (Calling that region directly from here
    /// instead of returning to the dispatcher was tried and was slower: see issue 13's notes.)
    /// </summary>
    public readonly BlockLink[] Links = new BlockLink[staticExits];

    /// <summary>The exit the region last left by, or -1 when it left by an exception, a stop or a back-edge check.</summary>
    public int Exit = -1;

    /// <summary>The delegate bound to this closure and the guest-physical address it is entered at (set when published).</summary>
    public CompiledBlock? Code;
    public ulong Pa;

    /// <summary>
    /// <see cref="Code"/>'s native entry, which takes this closure as its first argument (what invoking the
    /// delegate calls), or 0 where the runtime's delegate does not have that shape: the dispatcher calls it
    /// straight from a successor slot, without loading the delegate (a dependent cache miss per dispatch).
    /// </summary>
    public nint Entry;

    private static readonly FieldInfo? MethodPtr = typeof(Delegate).GetField("_methodPtr", BindingFlags.NonPublic | BindingFlags.Instance);
    private static readonly FieldInfo? MethodPtrAux = typeof(Delegate).GetField("_methodPtrAux", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>Records <paramref name="code"/>, bound to this closure, and its entry; see <see cref="Entry"/>.</summary>
    public void Publish(CompiledBlock code, ulong pa)
    {
        Code = code;
        Pa = pa;
        // A delegate closed over its first argument keeps the method's entry in _methodPtr and nothing in
        // _methodPtrAux (an open or shuffled one goes through a thunk there); only that shape is called directly.
        if (ReferenceEquals(code.Target, this) && MethodPtr?.GetValue(code) is nint entry && MethodPtrAux?.GetValue(code) is nint aux && aux == 0)
            Entry = entry;
    }

    /// <summary>Runs single <paramref name="index"/> at <paramref name="pc"/>; see <see cref="ISingleInstruction.ExecuteOne"/>.</summary>
    public bool Execute(int index, ulong pc) => executor!.ExecuteOne(singles[index], pc);

    /// <summary>Runs vector-only single <paramref name="index"/>; see <see cref="ISingleInstruction.ExecuteVector"/>.</summary>
    public bool Vector(int index) => executor!.ExecuteVector(singles[index]);
}
