using System.Text;

namespace Jit.Hypervisor.Config;

/// <summary>
/// A set of host CPUs, written in xl's CPU-list syntax (xl.cfg(5) <c>cpus</c>, xl_parse.c parse_cpurange):
/// comma-separated entries applied left to right to an empty set, each a CPU <c>3</c>, a range <c>0-3</c>,
/// <c>all</c>, or <c>node:N</c>/<c>nodes:N-M</c> (every CPU of those NUMA nodes); a leading <c>^</c> removes
/// the entry's CPUs instead of adding them, so <c>"0-3,^1"</c> is 0, 2 and 3, and <c>"all,^0"</c> is every CPU but
/// the first. <c>^all</c> is refused, as xl refuses it. Stricter than xl, which ignores CPUs the host lacks:
/// naming one is an error, and so is a set left empty. The host is one NUMA node here, node 0.
/// </summary>
public sealed class CpuSet : IEquatable<CpuSet>
{
    private readonly int[] cpus;

    private CpuSet(int[] cpus) => this.cpus = cpus;

    /// <summary>The CPUs in ascending order.</summary>
    public IReadOnlyList<int> Cpus => cpus;

    public int Count => cpus.Length;

    public bool Contains(int cpu) => Array.BinarySearch(cpus, cpu) >= 0;

    public static CpuSet All(int hostCpus) => new(Enumerable.Range(0, hostCpus).ToArray());

    /// <summary>Parses <paramref name="spec"/> against a host of <paramref name="hostCpus"/> CPUs (0 to hostCpus−1).</summary>
    public static bool TryParse(string spec, int hostCpus, out CpuSet set, out string problem)
    {
        set = null!;
        problem = "";
        if (hostCpus < 1) throw new ArgumentOutOfRangeException(nameof(hostCpus), "a host has at least one CPU");
        var member = new bool[hostCpus];
        bool any = false;
        foreach (string raw in spec.Split(','))
        {
            string entry = raw.Trim(' ', '\t');
            if (entry.Length == 0) continue; // strtok skips empty fields: "0,,2" is "0,2"
            any = true;
            bool remove = entry.StartsWith('^');
            string rest = remove ? entry[1..] : entry;
            bool nodes = false;
            foreach (string prefix in (ReadOnlySpan<string>)["nodes:", "node:"])
            {
                if (!rest.StartsWith(prefix, StringComparison.Ordinal)) continue;
                rest = rest[prefix.Length..];
                nodes = true;
                break;
            }
            if (rest == "all")
            {
                if (remove) { problem = $"{XlConfigParser.Quote(entry)}: \"^\" cannot be combined with \"all\""; return false; }
                Array.Fill(member, true);
                continue;
            }
            if (!TryRange(rest, out long first, out long last))
            {
                problem = $"{XlConfigParser.Quote(entry)} is not a CPU, a range like 0-3, \"all\" or \"nodes:N\", optionally after \"^\"";
                return false;
            }
            if (first > last) { problem = $"{XlConfigParser.Quote(entry)}: the range runs backwards"; return false; }
            if (nodes)
            {
                if (last > 0) { problem = $"{XlConfigParser.Quote(entry)}: NUMA node {last} does not exist (the host is one node, 0)"; return false; }
                Array.Fill(member, !remove);
                continue;
            }
            if (last >= hostCpus)
            {
                problem = $"{XlConfigParser.Quote(entry)}: CPU {(first >= hostCpus ? first : hostCpus)} does not exist (the host has {Describe(hostCpus)})";
                return false;
            }
            for (long cpu = first; cpu <= last; cpu++) member[cpu] = !remove;
        }
        if (!any) { problem = "names no CPU (write \"all\" for every CPU)"; return false; }
        var chosen = Enumerable.Range(0, hostCpus).Where(c => member[c]).ToArray();
        if (chosen.Length == 0) { problem = $"{XlConfigParser.Quote(spec)} leaves no CPU to run on"; return false; }
        set = new CpuSet(chosen);
        return true;
    }

    private static string Describe(int hostCpus) => hostCpus == 1 ? "one CPU, 0" : $"CPUs 0-{hostCpus - 1}";

    private static bool TryRange(string s, out long first, out long last)
    {
        first = last = 0;
        int dash = s.IndexOf('-');
        string a = dash < 0 ? s : s[..dash];
        string b = dash < 0 ? s : s[(dash + 1)..];
        return TryDecimal(a, out first) && TryDecimal(b, out last);
    }

    private static bool TryDecimal(string s, out long value)
    {
        value = 0;
        if (s.Length == 0 || s.Length > 9) return false;
        foreach (char c in s)
        {
            if (c is < '0' or > '9') return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }

    /// <summary>The set in xl's syntax, as ranges: <c>0-3,5</c>.</summary>
    public override string ToString()
    {
        var b = new StringBuilder();
        for (int i = 0; i < cpus.Length;)
        {
            int j = i;
            while (j + 1 < cpus.Length && cpus[j + 1] == cpus[j] + 1) j++;
            if (b.Length > 0) b.Append(',');
            b.Append(cpus[i]);
            if (j > i) b.Append('-').Append(cpus[j]);
            i = j + 1;
        }
        return b.ToString();
    }

    public bool Equals(CpuSet? other) => other is not null && cpus.AsSpan().SequenceEqual(other.cpus);

    public override bool Equals(object? obj) => Equals(obj as CpuSet);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int c in cpus) h.Add(c);
        return h.GetHashCode();
    }
}
