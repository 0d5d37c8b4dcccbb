using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Jit.Benchmarks;

/// <summary>
/// One short job, run in-process: BenchmarkDotNet's default of a generated project per run would rebuild the
/// solution on a machine whose two cores are shared, and a full run should take a few minutes. The memory
/// diagnoser's Allocated column doubles as a check that the measured paths allocate nothing.
/// </summary>
public static class BenchConfig
{
    public static IConfig Create() => DefaultConfig.Instance
        .AddJob(Job.ShortRun
            .WithWarmupCount(3)
            .WithIterationCount(5)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250))
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithId("short-inprocess"))
        .AddDiagnoser(MemoryDiagnoser.Default)
        .AddColumn(new MillionsPerSecondColumn())
        .HideColumns(Column.Error, Column.StdDev)
        .WithOption(ConfigOptions.JoinSummary, true);
}
