using System.Diagnostics;
using System.Globalization;
using System.Text;
using Jit.Translator;
using Jit.Translator.Decoder;
using Jit.Translator.Tier1;

namespace Jit.Differential.Tests;

/// <summary>What one class's run found.</summary>
public sealed class Report
{
    public int Cases { get; set; }
    public int Failures { get; set; }
    /// <summary>Cases the reference itself did not finish: a generator bug, not an interpreter one.</summary>
    public int ReferenceStops { get; set; }
    public Dictionary<string, int> FailuresByForm { get; } = [];
    public StringBuilder Text { get; } = new();
}

/// <summary>
/// Generates a class's cases, runs each on both sides and compares X0–X30, SP, NZCV, V0–V31, FPCR, FPSR and the scratch bytes
/// bit for bit. Settings come from the environment (see README.md).
/// </summary>
public static class DiffRunner
{
    /// <summary>CI runs this seed so its result is the same on every run; JIT_DIFF_SEED=random explores.</summary>
    public const ulong DefaultSeed = 0x6A69_7464_6966_6600;
    public const int DefaultCasesPerClass = 2000;
    private const int BatchSize = 20_000;
    private const int DetailedReports = 8;

    public static ulong Seed { get; } = ParseSeed(Environment.GetEnvironmentVariable("JIT_DIFF_SEED"));

    public static int CasesPerClass { get; } = ParseCases(Environment.GetEnvironmentVariable("JIT_DIFF_CASES"));

    private static ulong ParseSeed(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return DefaultSeed;
        if (text == "random") return (ulong)Random.Shared.NextInt64() ^ (ulong)Stopwatch.GetTimestamp();
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.Parse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : ulong.Parse(text, CultureInfo.InvariantCulture);
    }

    private static int ParseCases(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return DefaultCasesPerClass;
        long total = long.Parse(text, CultureInfo.InvariantCulture);
        int classes = Enum.GetValues<InstructionClass>().Length;
        return (int)Math.Max(1, (total + classes - 1) / classes);
    }

    public static ulong CaseSeed(InstructionClass cls, int index) => Rng.Derive(Rng.Derive(Seed, (ulong)cls + 1), (ulong)index);

    /// <param name="options">The engine's switches; null takes JIT_OPTIONS.</param>
    /// <param name="caseCount">Cases to run unless JIT_DIFF_CASES or JIT_DIFF_CASE say otherwise; null is the default count.</param>
    public static Report Run(InstructionClass cls, Action<string> log, JitOptions? options = null, int? caseCount = null)
    {
        bool countGiven = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("JIT_DIFF_CASES"));
        var indices = Environment.GetEnvironmentVariable("JIT_DIFF_CASE") is { Length: > 0 } only
            ? only.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray()
            : Enumerable.Range(0, countGiven ? CasesPerClass : caseCount ?? CasesPerClass).ToArray();
        var report = new Report();
        var clock = Stopwatch.StartNew();
        var compiledBefore = Tier1Compiler.Statistics;
        using var jit = new JitMachine(options);
        foreach (var batch in indices.Chunk(BatchSize))
        {
            var cases = batch.Select(i => Generator.Make(cls, i, CaseSeed(cls, i))).ToArray();
            using var qemu = new QemuHarness(cases);
            foreach (var c in cases)
            {
                var mine = jit.Run(c);
                var theirs = qemu.ReadResult(c);
                var differences = Compare(c, theirs, mine, jit.WroteOutsideScratch(c));
                report.Cases++;
                if (theirs.Stop.Length > 0) report.ReferenceStops++;
                if (differences.Count == 0) continue;
                report.Failures++;
                foreach (var op in c.Intended.Select(x => x.Op).Distinct())
                    report.FailuresByForm[op.ToString()] = report.FailuresByForm.GetValueOrDefault(op.ToString()) + 1;
                if (report.Failures <= DetailedReports) Describe(report.Text, c, theirs, mine, differences);
            }
        }
        string summary = $"{cls}: {report.Cases} cases, {report.Failures} mismatches ({report.ReferenceStops} stopped early on qemu), {clock.Elapsed.TotalSeconds:F2} s " +
            $"({report.Cases / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0} cases/s), JIT_DIFF_SEED=0x{Seed:x}, " +
            $"jit {jit.Options}: {Tier1Compiler.Statistics.Compiled - compiledBefore.Compiled} blocks compiled, {Tier1Compiler.Statistics.Rejected - compiledBefore.Rejected} left to tier 0";
        log(summary);
        if (report.Failures > 0)
        {
            var head = new StringBuilder().AppendLine(summary).AppendLine("mismatching cases that contain each form:");
            foreach (var (form, n) in report.FailuresByForm.OrderByDescending(kv => kv.Value))
                head.AppendLine($"  {n,6}  {form}");
            report.Text.Insert(0, head.AppendLine().ToString());
        }
        return report;
    }

    private static List<string> Compare(TestCase c, Outcome qemu, Outcome jit, bool strayStore)
    {
        var d = new List<string>();
        foreach (var (word, op) in c.Intended)
        {
            var decoded = A64Decoder.Decode(word).Op;
            if (decoded != op) d.Add($"decoder: {word:x8} decodes as {decoded}, the generator meant {op}");
        }
        if (qemu.Stop != jit.Stop || qemu.Stop.Length > 0)
            d.Add($"stop: qemu \"{(qemu.Stop.Length == 0 ? "end" : qemu.Stop)}\", jit \"{(jit.Stop.Length == 0 ? "end" : jit.Stop)}\"");
        for (int i = 0; i < 31; i++)
            if (qemu.X[i] != jit.X[i]) d.Add($"X{i}: qemu 0x{qemu.X[i]:x16} jit 0x{jit.X[i]:x16}");
        if (qemu.Sp != jit.Sp) d.Add($"SP: qemu 0x{qemu.Sp:x16} jit 0x{jit.Sp:x16}");
        if (qemu.Nzcv != jit.Nzcv) d.Add($"NZCV: qemu {Flags(qemu.Nzcv)} jit {Flags(jit.Nzcv)}");
        for (int i = 0; i < 32; i++)
            if (qemu.V[2 * i] != jit.V[2 * i] || qemu.V[2 * i + 1] != jit.V[2 * i + 1])
                d.Add($"V{i}: qemu 0x{qemu.V[2 * i + 1]:x16}_{qemu.V[2 * i]:x16} jit 0x{jit.V[2 * i + 1]:x16}_{jit.V[2 * i]:x16}");
        if (qemu.Fpsr != jit.Fpsr) d.Add($"FPSR: qemu 0x{qemu.Fpsr:x8} ({FpsrFlags(qemu.Fpsr)}) jit 0x{jit.Fpsr:x8} ({FpsrFlags(jit.Fpsr)})");
        if (qemu.Fpcr != jit.Fpcr) d.Add($"FPCR: qemu 0x{qemu.Fpcr:x8} jit 0x{jit.Fpcr:x8}");
        for (int at = 0; at < c.Scratch.Length; at += 8)
        {
            ulong q = BitConverter.ToUInt64(qemu.Scratch, at), j = BitConverter.ToUInt64(jit.Scratch, at);
            if (q != j) d.Add($"memory 0x{Protocol.ScratchBase + (ulong)at:x}: qemu {q:x16} jit {j:x16} (bytes little-endian as a u64)");
        }
        if (strayStore) d.Add("jit wrote to the scratch pages outside the case's scratch bytes");
        return d;
    }

    private static string Flags(ulong nzcv) =>
        (nzcv & ~0xF000_0000UL) != 0 ? $"0x{nzcv:x}" :
        new string([(nzcv & 1UL << 31) != 0 ? 'N' : 'n', (nzcv & 1UL << 30) != 0 ? 'Z' : 'z',
                    (nzcv & 1UL << 29) != 0 ? 'C' : 'c', (nzcv & 1UL << 28) != 0 ? 'V' : 'v']);

    private static string FpsrFlags(ulong fpsr)
    {
        string[] names = ["IOC", "DZC", "OFC", "UFC", "IXC", "", "", "IDC"];
        var set = Enumerable.Range(0, 8).Where(b => names[b].Length > 0 && (fpsr >> b & 1) != 0).Select(b => names[b]).ToList();
        if ((fpsr >> 27 & 1) != 0) set.Add("QC");
        return set.Count == 0 ? "none" : string.Join(" ", set);
    }

    private static void Describe(StringBuilder t, TestCase c, Outcome qemu, Outcome jit, List<string> differences)
    {
        t.AppendLine($"--- {c.Class} case {c.Index} (case seed 0x{c.Seed:x16})");
        t.AppendLine($"    reproduce: JIT_DIFF_SEED=0x{Seed:x} JIT_DIFF_CASE={c.Index} dotnet test tests/Jit.Differential.Tests --filter {c.Class}");
        foreach (var chunk in c.Chunks)
            foreach (string line in Disassembler.Lines(chunk))
                t.AppendLine("    " + line);
        foreach (string line in differences) t.AppendLine("    ≠ " + line);
        t.AppendLine($"    input: SP 0x{c.Sp:x16} NZCV {Flags(c.Nzcv)}");
        for (int i = 0; i < 31; i += 4)
        {
            t.Append("          ");
            for (int k = i; k < Math.Min(i + 4, 31); k++) t.Append($" X{k,-2} 0x{c.X[k]:x16}");
            t.AppendLine();
        }
        t.AppendLine($"    input: FPCR 0x{c.Fpcr:x8} FPSR 0x{c.Fpsr:x8}");
        for (int i = 0; i < 32; i++)
            if (c.V[2 * i] != 0 || c.V[2 * i + 1] != 0)
                t.AppendLine($"           V{i,-2} 0x{c.V[2 * i + 1]:x16}_{c.V[2 * i]:x16}");
        t.AppendLine("    scratch in:");
        for (int at = 0; at < c.Scratch.Length; at += 32)
            t.AppendLine($"      +0x{at:x3} {Convert.ToHexString(c.Scratch, at, Math.Min(32, c.Scratch.Length - at)).ToLowerInvariant()}");
        t.AppendLine($"    qemu out: SP 0x{qemu.Sp:x16} NZCV {Flags(qemu.Nzcv)}{(qemu.Stop.Length > 0 ? ", " + qemu.Stop : "")}");
        t.AppendLine($"    jit out:  SP 0x{jit.Sp:x16} NZCV {Flags(jit.Nzcv)}{(jit.Stop.Length > 0 ? ", " + jit.Stop : "")}");
        t.AppendLine();
    }
}
