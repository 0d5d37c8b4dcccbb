using System.Globalization;
using System.Text.Json;
using Jit.Translator.Tier1;

namespace Jit.Hypervisor.Statistics;

/// <summary>
/// The figures of one run that <c>--stats</c> prints and <c>--stats-json</c> writes: the domain's counters at
/// the end of the run, its wall time, and the process-wide tier 1 figures.
/// </summary>
/// <param name="SmcccDenied">Calls the domain's SMCCC policy denied, by <see cref="SmcccOwners"/> slot; null: none.</param>
/// <param name="SmmuTlb">The domain's SMMU's TLB hits and misses (translations from a walk), or null without an SMMU.</param>
public sealed record RunStatistics(
    ulong Instructions,
    TimeSpan WallTime,
    CounterTotals Totals,
    long RegionsCompiled,
    long RegionsRejected,
    long ILBytes,
    TimeSpan JitTime,
    ulong[]? SmcccDenied = null,
    (long Hits, long Misses)? SmmuTlb = null)
{
    public double Seconds => WallTime.TotalSeconds;
    public double Mips => Seconds > 0 ? Instructions / Seconds / 1e6 : 0;
    public double TlbMissesPerMillion => Instructions > 0 ? Totals.TlbMisses * 1e6 / Instructions : 0;
    /// <summary>
    /// Bytes the vCPU threads allocated per million guest instructions, over the whole run: block decoding and
    /// tier 1 requests while new code runs; a guest in a steady loop adds nothing to it.
    /// </summary>
    public double AllocatedBytesPerMillion => Instructions > 0 ? Totals.AllocatedBytes * 1e6 / Instructions : 0;

    /// <summary>Call after the domain's vCPUs have stopped, before the domain is disposed.</summary>
    /// <param name="smmu">The domain's SMMU, if it has one.</param>
    public static RunStatistics Collect(Domain domain, ulong instructions, TimeSpan wallTime, Jit.Devices.Smmu.SmmuV3? smmu = null)
    {
        var (compiled, rejected) = Tier1Compiler.Statistics;
        var (ilBytes, jitTime) = Tier1Compiler.CodeStatistics;
        return new RunStatistics(instructions, wallTime, CounterTotals.Of(domain.Vcpus), compiled, rejected, ilBytes, jitTime,
            domain.Smccc.Denied.ToArray(), smmu?.TlbStatistics);
    }

    /// <summary>Denied SMCCC calls by the report's owner groups (<see cref="SmcccOwners.Groups"/>), every group listed.</summary>
    public IEnumerable<(string Owner, ulong Calls)> SmcccDeniedByOwner => SmcccOwners.ByGroup(SmcccDenied ?? new ulong[SmcccOwners.Slots]);

    /// <summary>The <c>--stats</c> table: one figure a line, counts right-aligned.</summary>
    public string ToTable()
    {
        var ci = CultureInfo.InvariantCulture;
        var w = new StringWriter(ci);
        void Row(string name, string value, string note = "") =>
            w.WriteLine(string.Create(ci, $"  {name,-22}{value,16}{(note.Length > 0 ? "   " + note : "")}"));
        string N(double n) => n.ToString("N0", ci);

        w.WriteLine("jit: run statistics");
        Row("guest instructions", N(Instructions));
        Row("wall time", Seconds.ToString("F3", ci), "s");
        Row("guest MIPS", Mips.ToString("F1", ci));
        foreach (var (kind, count) in Totals.Exits.ByKind) Row($"exits: {kind}", N(count));
        Row("TLB misses", N(Totals.TlbMisses), TlbMissesPerMillion.ToString("N0", ci) + " per million instructions");
        Row("block lookups", N(Totals.BlockLookups), "dispatches past the successor slots and jump cache");
        Row("regions compiled", N(RegionsCompiled));
        Row("regions rejected", N(RegionsRejected));
        Row("tier-1 IL", N(ILBytes), "bytes, " + JitTime.TotalSeconds.ToString("F2", ci) + " s in RyuJIT");
        Row("blocks decoded", N(Totals.BlocksDecoded));
        Row("vCPU allocations", N(Totals.AllocatedBytes), "bytes");
        Row("vCPU allocation rate", N(AllocatedBytesPerMillion), "bytes per million instructions");
        var calls = Totals.SmcccByOwner.Where(o => o.Calls > 0).Select(o => $"{o.Owner} {N(o.Calls)}").ToList();
        Row("SMCCC calls by owner", calls.Count == 0 ? "none" : string.Join(", ", calls));
        var denied = SmcccDeniedByOwner.Where(o => o.Calls > 0).Select(o => $"{o.Owner} {N(o.Calls)}").ToList();
        Row("SMCCC denied by owner", denied.Count == 0 ? "none" : string.Join(", ", denied), denied.Count == 0 ? "" : "by the domain's smccc_permit");
        if (SmmuTlb is var (hits, misses))
        {
            Row("SMMU TLB hits", N(hits), "device accesses translated from the SMMU's TLB");
            Row("SMMU TLB misses", N(misses), "walked (stream table, CD, tables) or bypassed");
        }
        return w.ToString();
    }

    /// <summary>
    /// The <c>--stats-json</c> document. Its shape is a contract (the perf gate reads it): add keys, never
    /// rename or remove them.
    /// </summary>
    public void WriteJson(Stream stream)
    {
        using var j = new Utf8JsonWriter(stream);
        j.WriteStartObject();
        j.WriteNumber("instructions", Instructions);
        j.WriteNumber("seconds", Math.Round(Seconds, 6));
        j.WriteNumber("mips", Math.Round(Mips, 3));
        j.WriteStartObject("exits");
        foreach (var (kind, count) in Totals.Exits.ByKind) j.WriteNumber(kind, count);
        j.WriteEndObject();
        j.WriteNumber("tlbMisses", Totals.TlbMisses);
        j.WriteNumber("blockLookups", Totals.BlockLookups);
        j.WriteNumber("regionsCompiled", RegionsCompiled);
        j.WriteNumber("regionsRejected", RegionsRejected);
        j.WriteNumber("blocksDecoded", Totals.BlocksDecoded);
        j.WriteNumber("allocatedBytesVcpu", Totals.AllocatedBytes);
        j.WriteStartObject("smcByOwner");
        foreach (var (owner, calls) in Totals.SmcccByOwner) j.WriteNumber(owner, calls);
        j.WriteEndObject();
        j.WriteStartObject("smcDeniedByOwner");
        foreach (var (owner, calls) in SmcccDeniedByOwner) j.WriteNumber(owner, calls);
        j.WriteEndObject();
        if (SmmuTlb is var (hits, misses))
        {
            j.WriteStartObject("smmu");
            j.WriteNumber("tlbHits", hits);
            j.WriteNumber("tlbMisses", misses);
            j.WriteEndObject();
        }
        j.WriteEndObject();
    }
}
