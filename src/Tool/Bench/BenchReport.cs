using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json;

using Jit.Hypervisor;

namespace Jit.Tool.Bench;

/// <summary>Context printed with the results, so a figure can be traced to what produced it.</summary>
/// <param name="Smp">vCPUs of the boot and in-guest workloads (the latency guest always has 2).</param>
public sealed record BenchContext(DateTimeOffset Date, int Runs, string Host, string JitCommit, string? QemuVersion, int Smp, BenchSizes Sizes);

/// <summary>The sizes of the in-guest workloads, recorded with every result, also of workloads that did not run.</summary>
public sealed record BenchSizes(int CpuMegabytes, int ShellLoops, int ForkExecLoops, int FsioFiles, int PipeRounds, int DiskMegabytes, int TcpMegabytes)
{
    public static readonly BenchSizes Default = new(CpuWorkload.DefaultMegabytes, ShellWorkload.DefaultLoops,
        ForkExecWorkload.DefaultLoops, FsioWorkload.DefaultFiles, PipeWorkload.DefaultRounds, DiskWorkload.DefaultMegabytes, TcpWorkload.DefaultMegabytes);
}

/// <summary>The results of <c>jit bench</c> as a Markdown table, a JSON document and an SVG chart.</summary>
public static class BenchReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Markdown(BenchContext c, IReadOnlyList<MetricResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"# jit bench, {c.Date:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine(Inv, $"{c.Runs} runs per machine, interleaved (Jit, QEMU, Jit, QEMU, …); medians with min–max. " +
                           $"{Vcpus(c.Smp)} for boot and the in-guest workloads, 2 for latency. " +
                           $"Host: {c.Host}. Jit: {c.JitCommit}. QEMU: {c.QemuVersion ?? "not installed"}.");
        sb.AppendLine();
        sb.AppendLine("| workload | metric | unit | Jit median (min–max) | QEMU median (min–max) | Jit/QEMU |");
        sb.AppendLine("|---|---|---|---:|---:|---:|");
        foreach (var r in results)
            sb.AppendLine(Inv, $"| {r.Metric.Workload} | {r.Metric.Name} | {r.Metric.Unit} | {Cell(r.Jit)} | {Cell(r.Qemu)} | {(r.Ratio is { } x ? $"{x:0.00}×" : "–")} |");
        return sb.ToString();
    }

    private static string Vcpus(int n) => n == 1 ? "1 vCPU" : $"{n} vCPUs";

    private static string Cell(Series s)
    {
        if (s.Median is not { } m)
        {
            if (s.Failures.Count > 0) return $"failed: {string.Join("; ", s.Failures).Replace("|", "\\|", StringComparison.Ordinal)}";
            return s.Missing > 0 ? "n/a" : "–";
        }
        string text = s.Samples.Count > 1 ? $"{Num(m)} ({Num(s.Min!.Value)}–{Num(s.Max!.Value)})" : Num(m);
        return s.Missing > 0 ? $"{text}, {s.Missing} missing" : text;
    }

    /// <summary>Three significant digits, enough for run-to-run noise of several percent.</summary>
    private static string Num(double v) => v switch
    {
        >= 100 => v.ToString("0", Inv),
        >= 10 => v.ToString("0.0", Inv),
        >= 1 => v.ToString("0.00", Inv),
        _ => v.ToString("0.000", Inv),
    };

    public static string Json(BenchContext c, IReadOnlyList<MetricResult> results)
    {
        static object? SeriesJson(Series s) => new
        {
            samples = s.Samples,
            missing = s.Missing,
            failures = s.Failures,
            median = s.Median,
            min = s.Min,
            max = s.Max,
        };
        var doc = new
        {
            date = c.Date.ToString("o", Inv),
            runs = c.Runs,
            host = c.Host,
            jit = c.JitCommit,
            qemu = c.QemuVersion,
            smp = c.Smp,
            cpuMegabytes = c.Sizes.CpuMegabytes,
            shellLoops = c.Sizes.ShellLoops,
            forkexecLoops = c.Sizes.ForkExecLoops,
            fsioFiles = c.Sizes.FsioFiles,
            pipeRounds = c.Sizes.PipeRounds,
            diskMegabytes = c.Sizes.DiskMegabytes,
            tcpMegabytes = c.Sizes.TcpMegabytes,
            results = results.Select(r => new
            {
                workload = r.Metric.Workload,
                metric = r.Metric.Name,
                unit = r.Metric.Unit,
                jit = SeriesJson(r.Jit),
                qemu = SeriesJson(r.Qemu),
                ratio = r.Ratio,
            }),
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions
        {
            WriteIndented = true,
            // The file is read by people as much as by programs: keep ×, + and the like as they are.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
    }

    /// <summary>
    /// One column per metric: the Jit/QEMU ratio of the medians as a bar from the 1× line on a logarithmic axis,
    /// up (red) where Jit is slower, down (green) where it is faster, so metrics of any unit read on one scale.
    /// The axis is symmetric, powers of two from 1/2^K to 2^K with K at least 2 and enough for every ratio.
    /// Under each column, the metric and both medians with their unit, or why it has no ratio.
    /// </summary>
    public static string Svg(BenchContext c, IReadOnlyList<MetricResult> results)
    {
        const int groupWidth = 90, left = 80, top = 60, halfHeight = 130, barWidth = 30;
        const double charWidth = 6.2, cos45 = 0.7071;
        var labels = results.Select(r => (Title: $"{r.Metric.Workload}: {r.Metric.Name}", Detail: Detail(c, r))).ToList();
        int longest = labels.Select(l => Math.Max(l.Title.Length, l.Detail.Length)).DefaultIfEmpty(0).Max();
        int labelExtent = (int)(longest * charWidth * cos45) + 30;
        int plotRight = left + Math.Max(1, results.Count) * groupWidth;
        int width = Math.Max(plotRight + labelExtent, 640);
        int unityY = top + halfHeight;
        int height = unityY + halfHeight + labelExtent;
        int k = RatioAxisHalfRange(results.Select(r => r.Ratio));

        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.AppendLine(Inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        string runs = c.Runs == 1 ? "1 run" : $"{c.Runs} runs";
        sb.AppendLine(Inv, $"<text x=\"{left}\" y=\"20\" font-size=\"14\">{Esc($"jit bench {c.Date:yyyy-MM-dd}: Jit/QEMU ratio of the medians of {runs}")}</text>");
        sb.AppendLine(Inv, $"<rect x=\"{left}\" y=\"30\" width=\"10\" height=\"10\" fill=\"{Slower}\"/><text x=\"{left + 14}\" y=\"39\">Jit slower (up)</text>");
        sb.AppendLine(Inv, $"<rect x=\"{left + 120}\" y=\"30\" width=\"10\" height=\"10\" fill=\"{Faster}\"/><text x=\"{left + 134}\" y=\"39\">Jit faster (down)</text>");
        sb.AppendLine(Inv, $"<text x=\"{left + 250}\" y=\"39\" fill=\"#555\">logarithmic axis</text>");
        sb.AppendLine(Inv, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{unityY + halfHeight}\" stroke=\"black\"/>");
        sb.AppendLine(Inv, $"<text x=\"16\" y=\"{unityY}\" transform=\"rotate(-90 16 {unityY})\" text-anchor=\"middle\">Jit time / QEMU time</text>");
        for (int e = -k; e <= k; e++)
        {
            double y = RatioY(Math.Pow(2, e), k, unityY, halfHeight);
            string style = e == 0 ? " class=\"unity\" stroke=\"black\"" : " stroke=\"#ccc\" stroke-dasharray=\"2,3\"";
            sb.AppendLine(Inv, $"<line x1=\"{left}\" y1=\"{y:0.##}\" x2=\"{plotRight}\" y2=\"{y:0.##}\"{style}/>");
            sb.AppendLine(Inv, $"<text class=\"tick\" x=\"{left - 6}\" y=\"{y + 4:0.##}\" text-anchor=\"end\">{Esc(TickLabel(e))}</text>");
        }

        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            int cx = left + i * groupWidth + groupWidth / 2;
            if (r.Ratio is { } ratio)
            {
                double y = RatioY(ratio, k, unityY, halfHeight);
                // A ratio of 1 still gets a sliver, so the column does not look empty.
                double h = Math.Max(Math.Abs(unityY - y), 1);
                bool slower = ratio > 1;
                double barTop = slower ? unityY - h : unityY;
                sb.AppendLine(Inv, $"<rect class=\"ratio\" x=\"{cx - barWidth / 2}\" y=\"{barTop:0.##}\" width=\"{barWidth}\" height=\"{h:0.##}\" fill=\"{(slower ? Slower : Faster)}\"><title>{Esc($"{labels[i].Title}: {ratio:0.00}×")}</title></rect>");
                double ty = slower ? barTop - 4 : barTop + h + 12;
                sb.AppendLine(Inv, $"<text x=\"{cx}\" y=\"{ty:0.##}\" text-anchor=\"middle\" font-size=\"10\">{ratio:0.00}×</text>");
            }
            else
            {
                sb.AppendLine(Inv, $"<text class=\"no-ratio\" x=\"{cx}\" y=\"{unityY - 6}\" text-anchor=\"middle\" fill=\"#888\">no ratio</text>");
            }
            int lx = cx - 10, ly = unityY + halfHeight + 14;
            sb.AppendLine(Inv, $"<g transform=\"rotate(45 {lx} {ly})\">");
            sb.AppendLine(Inv, $"<text x=\"{lx}\" y=\"{ly}\">{Esc(labels[i].Title)}</text>");
            sb.AppendLine(Inv, $"<text x=\"{lx}\" y=\"{ly + 13}\" fill=\"#555\" font-size=\"10\">{Esc(labels[i].Detail)}</text>");
            sb.AppendLine("</g>");
        }
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private const string Slower = "#d9534f", Faster = "#4cae4c";

    /// <summary>K of the ratio axis 1/2^K to 2^K: at least 2 (0.25× to 4×), and enough for the largest ratio either way.</summary>
    public static int RatioAxisHalfRange(IEnumerable<double?> ratios)
    {
        double widest = ratios.OfType<double>().Where(r => r > 0 && double.IsFinite(r)).Select(r => Math.Abs(Math.Log2(r))).DefaultIfEmpty(0).Max();
        return Math.Max(2, (int)Math.Ceiling(widest - 1e-9));
    }

    /// <summary>Where a ratio is drawn: the 1× line at <paramref name="unityY"/>, 2^±K at ±<paramref name="halfHeight"/>.</summary>
    public static double RatioY(double ratio, int k, double unityY, double halfHeight) =>
        unityY - Math.Clamp(Math.Log2(ratio) / k, -1, 1) * halfHeight;

    private static string TickLabel(int exponent) => exponent >= -3
        ? $"{Math.Pow(2, exponent).ToString("0.###", Inv)}×"
        : $"1/{Math.Pow(2, -exponent).ToString("0", Inv)}×";

    /// <summary>Both medians with the unit, and why there is no ratio when there is none.</summary>
    private static string Detail(BenchContext c, MetricResult r)
    {
        string Median(Series s) => s.Median is { } m ? $"{Num(m)} {r.Metric.Unit}" : "–";
        string medians = c.QemuVersion is null ? $"Jit {Median(r.Jit)}" : $"Jit {Median(r.Jit)}, QEMU {Median(r.Qemu)}";
        if (r.Ratio is not null) return medians;
        var why = new List<string>();
        if (Absent("Jit", r.Jit) is { } j) why.Add(j);
        if (c.QemuVersion is null) why.Add("QEMU not run");
        else if (Absent("QEMU", r.Qemu) is { } q) why.Add(q);
        else if (r.Qemu.Median == 0) why.Add("QEMU's median is 0");
        return $"{medians}; no ratio: {string.Join("; ", why)}";
    }

    /// <summary>Why a machine has no median: its failures, or the runs that gave no figure; null when it has one.</summary>
    private static string? Absent(string machine, Series s)
    {
        if (s.Median is not null) return null;
        if (s.Failures.Count > 0) return $"{machine} failed: {Shorten(string.Join("; ", s.Failures), 100)}";
        return s.Missing > 0 ? $"{machine} gave no figure (n/a, or its check failed)" : $"{machine} did not run";
    }

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static string Esc(string s) => SecurityElement.Escape(s);
}
