using Jit.Hypervisor;

namespace Jit.Tool.Bench;

/// <summary>The two machines a benchmark compares: Jit, and QEMU's TCG with the equivalent virt machine.</summary>
public enum BenchMachine
{
    Jit,
    Qemu,
}

/// <summary>One figure a workload reports (a boot time, a latency percentile, a throughput time), lower is better.</summary>
public sealed record Metric(string Workload, string Name, string Unit);

/// <summary>The samples of one metric on one machine, one per run that produced it.</summary>
public sealed class Series
{
    private readonly List<double> samples = [];
    private readonly List<string> failures = [];

    public IReadOnlyList<double> Samples => samples;
    /// <summary>Runs that did not produce the metric (a failed run, or "n/a" from the guest).</summary>
    public int Missing { get; private set; }
    /// <summary>Why runs failed, each reason once, in the order first seen: the machine's own error, so a missing
    /// figure is never a bare null.</summary>
    public IReadOnlyList<string> Failures => failures;

    public void Add(double? value)
    {
        if (value is { } v && double.IsFinite(v)) samples.Add(v);
        else Missing++;
    }

    /// <summary>A run that produced nothing, and why.</summary>
    public void Fail(string why)
    {
        Missing++;
        if (!failures.Contains(why)) failures.Add(why);
    }

    public double? Median => samples.Count == 0 ? null : Statistics.Median(samples);
    public double? Min => samples.Count == 0 ? null : samples.Min();
    public double? Max => samples.Count == 0 ? null : samples.Max();
}

/// <summary>A metric with its series on both machines.</summary>
public sealed class MetricResult(Metric metric)
{
    public Metric Metric { get; } = metric;
    public Series Jit { get; } = new();
    public Series Qemu { get; } = new();

    public Series Of(BenchMachine m) => m == BenchMachine.Jit ? Jit : Qemu;

    /// <summary>Jit's median over QEMU's: how many times slower Jit is; null when either side has no sample.</summary>
    public double? Ratio => Jit.Median is { } j && Qemu.Median is { } q && q > 0 ? j / q : null;
}

public static class Statistics
{
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("no values", nameof(values));
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
