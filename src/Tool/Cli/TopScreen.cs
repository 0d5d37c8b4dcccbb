using System.Globalization;
using Jit.Hypervisor.Statistics;
using Jit.Tool.Statistics;
using I = Jit.Hypervisor.Statistics.JitMeter.Instruments;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>One screen of <c>jit top</c>: the readings of one interval as a table of totals and rates.</summary>
internal static class TopScreen
{
    // The rows' order and names; an instrument not listed here (a newer jit) is shown after them under its own name.
    private static readonly (string Instrument, string Label)[] Rows =
    [
        (I.Instructions, "guest instructions"),
        (I.Exits, "exits: "),
        (I.TlbMisses, "TLB misses"),
        (I.SmcccCalls, "SMCCC calls: "),
        (I.BlocksDecoded, "blocks decoded"),
        (I.Compiled, "tier 1 compiled"),
        (I.Rejected, "tier 1 rejected"),
        (I.ILBytes, "tier 1 IL bytes"),
        (I.QueueLength, "tier 1 queue"),
    ];

    private static readonly string[] ExitOrder = ["hvc", "smc", "mmio", "wfi", "irq", "sysreg", "other"];

    public static string Render(int pid, int number, MeterSample sample)
    {
        var ci = CultureInfo.InvariantCulture;
        var w = new StringWriter(ci);
        double seconds = sample.Seconds > 0 ? sample.Seconds : 1;
        var readings = sample.Readings.Where(r => r.Instrument.StartsWith("jit.", StringComparison.Ordinal)).ToList();
        double? mips = readings.FirstOrDefault(r => r.Instrument == I.Instructions)?.Delta / seconds / 1e6;

        w.WriteLine(string.Create(ci, $"jit top: process {pid}, sample {number}, {sample.End.ToLocalTime():HH:mm:ss} ({seconds:F2} s)"));
        w.WriteLine(string.Create(ci, $"  {"guest MIPS",-26}{(mips is double m ? m.ToString("F1", ci) : "…"),18}"));
        w.WriteLine(string.Create(ci, $"  {"counter",-26}{"total",18}{"per second",18}"));
        var known = Rows.Select(r => r.Instrument).ToHashSet();
        foreach (var (instrument, label) in Rows)
            foreach (var r in Order(readings.Where(r => r.Instrument == instrument)))
                Row(w, label.EndsWith(' ') ? label + TagValue(r.Tags) : label, r, seconds, instrument == I.QueueLength);
        foreach (var r in readings.Where(r => !known.Contains(r.Instrument)).OrderBy(r => r.Instrument, StringComparer.Ordinal))
            Row(w, r.Tags.Length > 0 ? $"{r.Instrument}{{{r.Tags}}}" : r.Instrument, r, seconds, r.Delta is null);
        return w.ToString();
    }

    private static void Row(StringWriter w, string label, MeterReading r, double seconds, bool gauge)
    {
        var ci = CultureInfo.InvariantCulture;
        string rate = gauge ? "" : r.Delta is double d ? (d / seconds).ToString("N0", ci) : "…";
        w.WriteLine(string.Create(ci, $"  {label,-26}{r.Value.ToString("N0", ci),18}{rate,18}").TrimEnd());
    }

    private static IEnumerable<MeterReading> Order(IEnumerable<MeterReading> readings) =>
        readings.OrderBy(r => Array.IndexOf(ExitOrder, TagValue(r.Tags)) is int i and >= 0 ? i : int.MaxValue)
            .ThenBy(r => r.Tags, StringComparer.Ordinal);

    // "kind=mmio" → "mmio"; several tags stay as they are.
    private static string TagValue(string tags) =>
        tags.IndexOf('=') is int eq and >= 0 && tags.IndexOf(',') < 0 ? tags[(eq + 1)..] : tags;
}
