using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1;

/// <summary>
/// What a compiled region reaches besides its arguments: the executor for the instructions it has no IL for,
/// and those instructions as one-instruction blocks. The region's delegate is bound to it.
/// </summary>
public sealed class RegionClosure(ISingleInstruction? executor, Block[] singles)
{
    private readonly ISingleInstruction? executor = executor;
    private readonly Block[] singles = singles;

    /// <summary>Runs single <paramref name="index"/> at <paramref name="pc"/>; see <see cref="ISingleInstruction.ExecuteOne"/>.</summary>
    public bool Execute(int index, ulong pc) => executor!.ExecuteOne(singles[index], pc);
}
