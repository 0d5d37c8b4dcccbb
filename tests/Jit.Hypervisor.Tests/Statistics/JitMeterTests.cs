using System.Diagnostics.Metrics;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Statistics;

namespace Jit.Hypervisor.Tests.Statistics;

/// <summary>The Jit meter seen by an in-process listener, as dotnet-counters sees it from outside.</summary>
public class JitMeterTests
{
    [Fact]
    public void InstrumentsReportWhatADomainDid()
    {
        string elf = TestProcess.Guest("hello", "hello.elf");
        var before = Observe();
        using (var machine = BareMetalMachine.Create(elf, Stream.Null))
            Assert.Equal(RunEnd.PowerOff, machine.Run(TimeSpan.FromSeconds(30)).End);
        // The domain has been disposed: its figures stay in the meter's totals.
        var after = Observe();

        Assert.True(Delta(JitMeter.Instruments.Instructions, "") > 0);
        Assert.True(Delta(JitMeter.Instruments.Exits, "kind=hvc") >= 1);
        Assert.True(Delta(JitMeter.Instruments.Exits, "kind=mmio") >= 19);
        Assert.True(Delta(JitMeter.Instruments.SmcccCalls, "owner=psci") >= 1);
        Assert.True(after.ContainsKey((JitMeter.Instruments.QueueLength, "")));
        Assert.True(after.ContainsKey((JitMeter.Instruments.TlbMisses, "")));

        long Delta(string instrument, string tag) =>
            after.GetValueOrDefault((instrument, tag)) - before.GetValueOrDefault((instrument, tag));
    }

    /// <summary>Polls every observable instrument of the meter once: (instrument, "tag=value") → value.</summary>
    private static Dictionary<(string, string), long> Observe()
    {
        var values = new Dictionary<(string, string), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == JitMeter.Name) l.EnableMeasurementEvents(instrument);
        };
        void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state) where T : struct
        {
            string tag = tags.Length == 0 ? "" : $"{tags[0].Key}={tags[0].Value}";
            values[(instrument.Name, tag)] = Convert.ToInt64(value);
        }
        listener.SetMeasurementEventCallback<long>(Record);
        listener.SetMeasurementEventCallback<int>(Record);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
