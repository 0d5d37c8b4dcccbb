using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Translator.Interpreter;

namespace Jit.Translator;

/// <summary>
/// Runs one vCPU until an exit: every block starts in the tier 0 interpreter, and blocks that get hot run as
/// tier 1 IL once compiled (see <see cref="JitOptions"/>).
/// </summary>
public sealed unsafe class Engine
{
    private readonly CpuState* s;
    private readonly Mmu mmu;
    private readonly BlockInterpreter interpreter;

    public Engine(CpuState* state, Mmu mmu, IHypervisorCalls? hypervisor)
        : this(new Processor(state, mmu), hypervisor)
    {
    }

    public Engine(Processor processor, IHypervisorCalls? hypervisor)
    {
        Processor = processor;
        s = processor.State;
        mmu = processor.Mmu;
        interpreter = new BlockInterpreter(processor, hypervisor) { Options = JitOptions.Default };
    }

    public Processor Processor { get; }

    /// <summary>The execution switches (<c>--jit</c>); set before running, or between runs.</summary>
    public JitOptions Options
    {
        get => interpreter.Options;
        set => interpreter.Options = value;
    }
    public CpuState* State => s;
    public Mmu Mmu => mmu;

    /// <summary>Blocks decoded so far (a cold-path statistic).</summary>
    public int BlocksDecoded => interpreter.BlocksDecoded;

    /// <summary>Instructions the tier 0 interpreter retired; the rest of <c>CpuState.Retired</c> ran compiled.</summary>
    public ulong InterpretedInstructions => interpreter.InterpretedInstructions;

    /// <summary>Trace hook, called when a block is decoded; set before <see cref="Run"/>, on the vCPU's thread.</summary>
    public BlockTranslatedHandler? BlockTranslated
    {
        get => interpreter.BlockTranslated;
        set => interpreter.BlockTranslated = value;
    }

    /// <summary>Trace hook, called on every block entry (VA, PA); null costs nothing in the run loop.</summary>
    public Action<ulong, ulong>? BlockEntered
    {
        get => interpreter.BlockEntered;
        set => interpreter.BlockEntered = value;
    }

    /// <summary>Runs until an exit, or until about <paramref name="maxInstructions"/> more instructions have retired.</summary>
    public ExitReason Run(ulong maxInstructions = ulong.MaxValue) => interpreter.Run(maxInstructions);

    /// <summary>The decoded blocks and their tier 1 state, for inspection while the vCPU is not running.</summary>
    public IEnumerable<Block> Blocks => interpreter.Blocks;

    /// <summary>Drops every decoded block (used after loading new code behind the guest's back).</summary>
    public void FlushTranslations() => interpreter.Flush();
}
