using BenchmarkDotNet.Attributes;
using Jit.Translator.Interpreter;
using Jit.Translator.Tier1;
using static Jit.Benchmarks.A64;

namespace Jit.Benchmarks;

/// <summary>
/// Tier 1's cost per guest instruction: IL emission plus RyuJIT, as <see cref="Tier1Compiler.CompileNow"/>
/// pays it, for a 5-instruction block, a 20-instruction block and a 100-instruction region of five blocks
/// that loop back to its entry, each of integer work only, of loads and stores only, or of the two mixed.
/// One operation is one guest instruction compiled.
/// </summary>
[BenchmarkCategory("compile")]
public class CompileBenchmarks
{
    private const ulong Base = GuestLayout.Code;

    /// <summary>What the compiled blocks hold besides their closing branch.</summary>
    public enum InstructionMix { Integer, Memory, Mixed }

    private static uint[] Work(InstructionMix mix) => mix switch
    {
        InstructionMix.Integer => [AddReg(1, 1, 2), EorReg(3, 3, 1, lsl: 3), AddImm(4, 4, 1), Madd(5, 1, 3, 5), SubsImm(0, 0, 1)],
        InstructionMix.Memory => [LdrImm(4, 6, 8), StrImm(4, 6, 16), LdrReg(1, 6, 7), StrReg(1, 6, 2)],
        // What hot kernel loops hold: ALU, multiply, and a load and a store in seven.
        _ => [AddReg(1, 1, 2), EorReg(3, 3, 1, lsl: 3), LdrImm(4, 6, 8), AddImm(4, 4, 1), StrImm(4, 6, 8), Madd(5, 1, 3, 5), SubsImm(0, 0, 1)],
    };

    [Params(InstructionMix.Integer, InstructionMix.Memory, InstructionMix.Mixed)]
    public InstructionMix Mix { get; set; }

    private Region small = null!, medium = null!, large = null!;

    [GlobalSetup]
    public void Setup()
    {
        uint[] work = Work(Mix);
        Block LoopBlock(ulong pa, int length, ulong loopTo)
        {
            var words = Enumerable.Range(0, length - 1).Select(i => work[i % work.Length]).ToList();
            words.Add(BCond(Ne, (int)((long)loopTo - (long)(pa + 4 * (ulong)(length - 1))) / 4));
            // Region formation follows only successors that have run.
            return new Block(pa, [.. words.Select(Predecoder.Predecode)]) { Executions = 1 };
        }

        small = Region.Single(LoopBlock(Base, 5, Base));
        medium = Region.Single(LoopBlock(Base, 20, Base));
        var blocks = Enumerable.Range(0, 5).Select(k => LoopBlock(Base + (ulong)k * 80, 20, Base)).ToDictionary(b => b.Pa);
        large = Region.Form(blocks[Base], pa => blocks.GetValueOrDefault(pa));
        int instructions = large.Blocks.Sum(b => b.Insts.Length);
        if (instructions != 100) throw new InvalidOperationException($"the large region holds {instructions} instructions, not 100");
        foreach (var r in new[] { small, medium, large })
        {
            Tier1Compiler.CompileNow(r, inlineTlb: true);
            if (r.Entry.Tier1State != Tier1State.Compiled) throw new InvalidOperationException($"tier 1 declined the {r.Blocks.Sum(b => b.Insts.Length)}-instruction region");
        }
    }

    [Benchmark(OperationsPerInvoke = 5)]
    public void Block5() => Tier1Compiler.CompileNow(small, inlineTlb: true);

    [Benchmark(OperationsPerInvoke = 20)]
    public void Block20() => Tier1Compiler.CompileNow(medium, inlineTlb: true);

    [Benchmark(OperationsPerInvoke = 100)]
    public void Region100() => Tier1Compiler.CompileNow(large, inlineTlb: true);
}
