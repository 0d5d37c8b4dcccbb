using System.Diagnostics.Metrics;
using Jit.Translator.Tier1;

namespace Jit.Hypervisor.Statistics;

/// <summary>
/// The process's live counters: a <see cref="Meter"/> named <c>Jit</c> whose instruments are all observable,
/// so they cost nothing until a listener (<c>jit top</c>, <c>dotnet-counters monitor --counters Jit</c>, an
/// in-process MeterListener) polls them, and then only a sum over the vCPUs per poll.
/// </summary>
/// <remarks>
/// Instruments observe every domain that is running (<see cref="Observe"/>). A domain that stops adds its
/// final figures to a running total before it lets go, so the counters stay monotonic across domains and no
/// callback ever reads a vCPU after its state has been freed.
/// </remarks>
public static class JitMeter
{
    public const string Name = "Jit";

    /// <summary>The instruments' names, also what <c>jit top</c> looks for.</summary>
    public static class Instruments
    {
        public const string Instructions = "jit.guest.instructions";
        public const string Exits = "jit.exits";
        public const string TlbMisses = "jit.tlb.misses";
        public const string SmcccCalls = "jit.smccc.calls";
        public const string BlocksDecoded = "jit.blocks.decoded";
        public const string Compiled = "jit.tier1.compiled";
        public const string Rejected = "jit.tier1.rejected";
        public const string QueueLength = "jit.tier1.queue_length";
        public const string ILBytes = "jit.tier1.il_bytes";
    }

    private static readonly Lock gate = new();
    private static readonly List<Domain> running = [];
    private static CounterTotals finished = CounterTotals.Zero;
    private static Meter? meter;

    /// <summary>Makes the instruments observe <paramref name="domain"/> until the result is disposed.</summary>
    public static IDisposable Observe(Domain domain)
    {
        lock (gate)
        {
            meter ??= Create();
            running.Add(domain);
        }
        return new Observation(domain);
    }

    private sealed class Observation(Domain domain) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
            lock (gate)
            {
                if (running.Remove(domain)) finished = finished.Add(CounterTotals.Of(domain.Vcpus));
            }
        }
    }

    /// <summary>Every observed domain's counters, finished ones included.</summary>
    public static CounterTotals Totals()
    {
        lock (gate)
        {
            var total = finished;
            foreach (var d in running) total = total.Add(CounterTotals.Of(d.Vcpus));
            return total;
        }
    }

    private static Meter Create()
    {
        var m = new Meter(Name);
        m.CreateObservableCounter(Instruments.Instructions, () => (long)Totals().Instructions, "{instruction}",
            "guest instructions retired by all vCPUs; the rate is guest instructions per second");
        m.CreateObservableCounter(Instruments.Exits, () => Tagged("kind", Totals().Exits.ByKind), "{exit}",
            "exits to the hypervisor by kind (hvc, smc, mmio, wfi, irq taken, sysreg, other)");
        m.CreateObservableCounter(Instruments.TlbMisses, () => (long)Totals().TlbMisses, "{miss}",
            "memory accesses that took the MMU's slow path");
        m.CreateObservableCounter(Instruments.SmcccCalls, () => Tagged("owner", Totals().SmcccByOwner.Where(o => o.Calls > 0)), "{call}",
            "SMCCC calls (HVC #0 and SMC) by owning service");
        m.CreateObservableCounter(Instruments.BlocksDecoded, () => Totals().BlocksDecoded, "{block}",
            "guest blocks decoded by the tier 0 interpreter");
        m.CreateObservableCounter(Instruments.Compiled, () => Tier1Compiler.Statistics.Compiled, "{region}",
            "regions compiled to IL by tier 1");
        m.CreateObservableCounter(Instruments.Rejected, () => Tier1Compiler.Statistics.Rejected, "{region}",
            "regions tier 1 declined or failed to compile");
        m.CreateObservableGauge(Instruments.QueueLength, () => Tier1Compiler.QueueLength, "{region}",
            "regions waiting for the background compiler");
        m.CreateObservableCounter(Instruments.ILBytes, () => Tier1Compiler.CodeStatistics.ILBytes, "By",
            "IL bytes RyuJIT compiled for tier 1 (the code cache, in IL)");
        return m;
    }

    private static IEnumerable<Measurement<long>> Tagged(string tag, IEnumerable<(string Name, ulong Count)> counts) =>
        counts.Select(c => new Measurement<long>((long)c.Count, new KeyValuePair<string, object?>(tag, c.Name))).ToList();
}
