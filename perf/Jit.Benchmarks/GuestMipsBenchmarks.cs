using BenchmarkDotNet.Attributes;

namespace Jit.Benchmarks;

/// <summary>
/// Guest instructions per second on an integer loop and on a load/store loop, per tier. One operation is one
/// guest instruction, so the Mean column is nanoseconds per guest instruction and Mops/s is guest MIPS.
/// </summary>
[BenchmarkCategory("mips")]
public unsafe class GuestMipsBenchmarks
{
    private const int Iterations = 200_000;
    private const int IntegerInstructions = Iterations * GuestPrograms.IntegerLoopLength;
    private const int MemoryInstructions = Iterations * GuestPrograms.MemoryLoopLength;
    private const ulong IntegerCode = GuestLayout.Code, MemoryCode = GuestLayout.Code + 0x1000;

    private EngineMachine machine = null!;

    [Params(Tier.Interpreted, Tier.Compiled)]
    public Tier Tier { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        machine = new EngineMachine(TierOptions.Of(Tier));
        machine.Load(IntegerCode, GuestPrograms.IntegerLoop);
        machine.Load(MemoryCode, GuestPrograms.MemoryLoop);
        // Compiles both loops (tier 1) and fills the soft TLB, then checks that the measured runs are what they
        // claim to be: nearly all compiled, or all interpreted.
        IntegerLoop();
        MemoryLoop();
        ulong interpreted = machine.Engine.InterpretedInstructions, retired = machine.State->Retired;
        IntegerLoop();
        MemoryLoop();
        double share = (double)(machine.Engine.InterpretedInstructions - interpreted) / (machine.State->Retired - retired);
        if (Tier == Tier.Compiled ? share > 0.01 : share < 1)
            throw new InvalidOperationException($"{Tier}: {share:P1} of the loops' instructions were interpreted");
    }

    [GlobalCleanup]
    public void Cleanup() => machine.Dispose();

    [Benchmark(OperationsPerInvoke = IntegerInstructions)]
    public void IntegerLoop()
    {
        machine.State->X[0] = Iterations;
        machine.RunToHvc(IntegerCode, 2 * IntegerInstructions);
    }

    [Benchmark(OperationsPerInvoke = MemoryInstructions)]
    public void MemoryLoop()
    {
        machine.State->X[0] = Iterations;
        machine.State->X[6] = GuestLayout.Data;
        machine.State->X[7] = 0;
        machine.RunToHvc(MemoryCode, 2 * MemoryInstructions);
    }
}
