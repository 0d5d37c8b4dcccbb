using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Jit.Benchmarks;

/// <summary>
/// Operations per second in millions, from the mean time per operation: guest MIPS for the MIPS benchmarks
/// (one operation is one guest instruction), millions of accesses or calls per second for the others.
/// </summary>
public sealed class MillionsPerSecondColumn : IColumn
{
    public string Id => nameof(MillionsPerSecondColumn);
    public string ColumnName => "Mops/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Millions of operations per second (guest MIPS where an operation is a guest instruction)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        summary[benchmarkCase]?.ResultStatistics is { Mean: > 0 } s ? Format(1e3 / s.Mean, style.CultureInfo) : "NA";

    // Three significant digits: the compile benchmarks run at hundredths of a million per second, guest loops
    // at thousands.
    private static string Format(double v, IFormatProvider culture) => v switch
    {
        >= 100 => v.ToString("N0", culture),
        >= 10 => v.ToString("N1", culture),
        >= 1 => v.ToString("N2", culture),
        _ => v.ToString("G3", culture),
    };

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
