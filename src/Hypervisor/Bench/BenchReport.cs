using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json;

namespace Jit.Hypervisor.Bench;

/// <summary>Context printed with the results, so a figure can be traced to what produced it.</summary>
public sealed record BenchContext(DateTimeOffset Date, int Runs, string Host, string JitCommit, string? QemuVersion, int CpuMegabytes, int ShellLoops);

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
                           $"Host: {c.Host}. Jit: {c.JitCommit}. QEMU: {c.QemuVersion ?? "not installed"}.");
        sb.AppendLine();
        sb.AppendLine("| workload | metric | unit | Jit median (min–max) | QEMU median (min–max) | Jit/QEMU |");
        sb.AppendLine("|---|---|---|---:|---:|---:|");
        foreach (var r in results)
            sb.AppendLine(Inv, $"| {r.Metric.Workload} | {r.Metric.Name} | {r.Metric.Unit} | {Cell(r.Jit)} | {Cell(r.Qemu)} | {(r.Ratio is { } x ? $"{x:0.00}×" : "–")} |");
        return sb.ToString();
    }

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
            cpuMegabytes = c.CpuMegabytes,
            shellLoops = c.ShellLoops,
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
    /// One group per metric: Jit's and QEMU's medians as bars scaled to the larger of the two (the metrics have
    /// different units, so they share no axis) and labelled with their values; the Jit/QEMU ratio as markers
    /// joined by a line on a logarithmic axis on the right.
    /// </summary>
    public static string Svg(BenchContext c, IReadOnlyList<MetricResult> results)
    {
        const int groupWidth = 90, left = 60, right = 70, top = 50, plotHeight = 260, bottom = 150;
        int width = left + right + Math.Max(1, results.Count) * groupWidth;
        int height = top + plotHeight + bottom;
        int baseY = top + plotHeight;
        // Ratio axis: 0.1× to 1000×, logarithmic.
        const double ratioMin = 0.1, ratioMax = 1000;
        double RatioY(double r)
        {
            double t = (Math.Log10(Math.Clamp(r, ratioMin, ratioMax)) - Math.Log10(ratioMin)) / (Math.Log10(ratioMax) - Math.Log10(ratioMin));
            return baseY - t * plotHeight;
        }

        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.AppendLine(Inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        sb.AppendLine(Inv, $"<text x=\"{left}\" y=\"20\" font-size=\"14\">{Esc($"jit bench {c.Date:yyyy-MM-dd}: medians of {c.Runs} runs (bars scaled per metric), Jit/QEMU ratio (markers, right axis)")}</text>");
        sb.AppendLine(Inv, $"<rect x=\"{left}\" y=\"30\" width=\"10\" height=\"10\" fill=\"#d9534f\"/><text x=\"{left + 14}\" y=\"39\">Jit</text>");
        sb.AppendLine(Inv, $"<rect x=\"{left + 50}\" y=\"30\" width=\"10\" height=\"10\" fill=\"#5b7fbf\"/><text x=\"{left + 64}\" y=\"39\">QEMU</text>");
        sb.AppendLine(Inv, $"<circle cx=\"{left + 125}\" cy=\"35\" r=\"4\" fill=\"black\"/><text x=\"{left + 133}\" y=\"39\">Jit/QEMU</text>");
        int plotRight = width - right;
        sb.AppendLine(Inv, $"<line x1=\"{left}\" y1=\"{baseY}\" x2=\"{plotRight}\" y2=\"{baseY}\" stroke=\"black\"/>");
        sb.AppendLine(Inv, $"<line x1=\"{plotRight}\" y1=\"{top}\" x2=\"{plotRight}\" y2=\"{baseY}\" stroke=\"black\"/>");
        foreach (double tick in new[] { 0.1, 1, 10, 100, 1000 })
        {
            double y = RatioY(tick);
            string dash = tick == 1 ? "" : " stroke-dasharray=\"2,3\"";
            sb.AppendLine(Inv, $"<line x1=\"{left}\" y1=\"{y:0.#}\" x2=\"{plotRight}\" y2=\"{y:0.#}\" stroke=\"#bbb\"{dash}/>");
            sb.AppendLine(Inv, $"<text x=\"{plotRight + 4}\" y=\"{y + 4:0.#}\">{tick.ToString("0.#", Inv)}×</text>");
        }

        var ratioPoints = new List<string>();
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            int x0 = left + i * groupWidth + 15;
            double jit = r.Jit.Median ?? 0, qemu = r.Qemu.Median ?? 0;
            double scale = Math.Max(jit, qemu);
            Bar(sb, x0, baseY, plotHeight, scale, r.Jit.Median, r.Metric.Unit, "#d9534f");
            Bar(sb, x0 + 30, baseY, plotHeight, scale, r.Qemu.Median, r.Metric.Unit, "#5b7fbf");
            if (r.Ratio is { } ratio)
            {
                double y = RatioY(ratio);
                int cx = x0 + 30;
                ratioPoints.Add($"{cx},{y.ToString("0.#", Inv)}");
                sb.AppendLine(Inv, $"<circle cx=\"{cx}\" cy=\"{y:0.#}\" r=\"4\" fill=\"black\"><title>{Esc($"{r.Metric.Name}: {ratio:0.00}×")}</title></circle>");
            }
            int lx = x0 + 30, ly = baseY + 10;
            sb.AppendLine(Inv, $"<text x=\"{lx}\" y=\"{ly}\" transform=\"rotate(45 {lx} {ly})\">{Esc($"{r.Metric.Workload}: {r.Metric.Name} ({r.Metric.Unit})")}</text>");
        }
        if (ratioPoints.Count > 1)
            sb.AppendLine(Inv, $"<polyline points=\"{string.Join(' ', ratioPoints)}\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>");
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static void Bar(StringBuilder sb, int x, int baseY, int plotHeight, double scale, double? value, string unit, string colour)
    {
        if (value is not { } v || scale <= 0) return;
        double h = v / scale * (plotHeight - 20);
        sb.AppendLine(Inv, $"<rect x=\"{x}\" y=\"{baseY - h:0.#}\" width=\"26\" height=\"{h:0.#}\" fill=\"{colour}\"><title>{Esc($"{Num(v)} {unit}")}</title></rect>");
        sb.AppendLine(Inv, $"<text x=\"{x + 13}\" y=\"{baseY - h - 3:0.#}\" text-anchor=\"middle\" font-size=\"9\">{Esc(Num(v))}</text>");
    }

    private static string Esc(string s) => SecurityElement.Escape(s);
}
