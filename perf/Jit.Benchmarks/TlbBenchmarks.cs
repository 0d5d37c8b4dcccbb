using BenchmarkDotNet.Attributes;

namespace Jit.Benchmarks;

/// <summary>
/// What one guest memory access costs: on the inline soft-TLB hit path of compiled code (eight LDR/STR to one
/// page per loop iteration, the loop's SUBS and B.NE included in the figure), through the MMU's own hit path,
/// and through its miss path (the entry flushed first, so each access walks four levels of tables).
/// One operation is one access.
/// </summary>
[BenchmarkCategory("tlb")]
public unsafe class TlbBenchmarks
{
    private const int Iterations = 100_000;
    private const int CompiledAccesses = Iterations * GuestPrograms.OnePageAccesses;
    private const int Accesses = 1000;
    private const ulong Va = GuestLayout.Data + 0x2000;

    private EngineMachine machine = null!;

    [GlobalSetup]
    public void Setup()
    {
        machine = new EngineMachine(TierOptions.Of(Tier.Compiled));
        machine.Load(GuestLayout.Code, GuestPrograms.OnePageLoop);
        CompiledHit();
        ulong misses = machine.State->Counters.TlbMisses;
        CompiledHit();
        if (machine.State->Counters.TlbMisses != misses)
            throw new InvalidOperationException("the one-page loop missed in the TLB after its warm-up run");
        if (!machine.Mmu.ReadAs(Va, 8, 1, out _)) throw new InvalidOperationException($"0x{Va:x} does not translate");
    }

    [GlobalCleanup]
    public void Cleanup() => machine.Dispose();

    [Benchmark(OperationsPerInvoke = CompiledAccesses)]
    public void CompiledHit()
    {
        machine.State->X[0] = Iterations;
        machine.State->X[6] = GuestLayout.Data;
        machine.RunToHvc(GuestLayout.Code, 2 * CompiledAccesses);
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong MmuReadHit()
    {
        var mmu = machine.Mmu;
        ulong sum = 0;
        for (int i = 0; i < Accesses; i++)
        {
            mmu.ReadAs(Va, 8, 1, out ulong v);
            sum += v;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong MmuReadMiss()
    {
        var mmu = machine.Mmu;
        ulong sum = 0;
        for (int i = 0; i < Accesses; i++)
        {
            mmu.Tlb.FlushPage(Va);
            mmu.ReadAs(Va, 8, 1, out ulong v);
            sum += v;
        }
        return sum;
    }
}
