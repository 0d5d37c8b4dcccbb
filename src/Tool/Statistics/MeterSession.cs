using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

using Jit.Hypervisor;

namespace Jit.Tool.Statistics;

/// <summary>One instrument's figures for one interval, as the runtime's metrics EventSource published them.</summary>
/// <param name="Tags">"key=value" pairs joined by commas, as the EventSource formats them; empty without tags.</param>
/// <param name="Delta">For counters, the increase over the interval; null for gauges and for a counter's first interval.</param>
/// <param name="Value">For counters the running total, for gauges the last value.</param>
public sealed record MeterReading(string Instrument, string Tags, string Unit, double? Delta, double Value);

/// <summary>The readings of one collection interval, in the order they arrived.</summary>
public sealed record MeterSample(DateTime Start, DateTime End, IReadOnlyList<MeterReading> Readings)
{
    public double Seconds => (End - Start).TotalSeconds;
}

/// <summary>
/// Reads one meter of another .NET process live: starts an EventPipe session with the runtime's
/// "System.Diagnostics.Metrics" EventSource, asking it to aggregate the meter every refresh interval, and
/// turns the stream of published values into one <see cref="MeterSample"/> per interval.
/// </summary>
/// <remarks>
/// This is the protocol dotnet-counters speaks: provider arguments SessionId, Metrics, RefreshInterval,
/// MaxTimeSeries and MaxHistograms; CollectionStart/CollectionStop around each interval; CounterRateValuePublished,
/// UpDownCounterRateValuePublished and GaugeValuePublished for the values. The EventSource serves one session
/// at a time, so a second monitor of the same process gets an error event, reported through <see cref="Error"/>.
/// </remarks>
public sealed class MeterSession : IDisposable
{
    private const string Provider = "System.Diagnostics.Metrics";
    // MetricsEventSource.Keywords.TimeSeriesValues: the values and the interval markers, nothing else.
    private const long TimeSeriesValues = 0x2;

    private readonly EventPipeSession session;
    private readonly Thread reader;
    private readonly BlockingCollection<MeterSample> samples = new();
    private readonly string sessionId = Guid.NewGuid().ToString("N");
    private List<MeterReading>? pending;
    private DateTime start;
    private volatile string? error;

    /// <exception cref="ServerNotAvailableException">The process has no diagnostics endpoint (gone, or diagnostics disabled).</exception>
    private static readonly TimeSpan AttachTimeout = TimeSpan.FromSeconds(10), StopTimeout = TimeSpan.FromSeconds(5);

    public MeterSession(int pid, string meter, TimeSpan refresh)
    {
        var arguments = new Dictionary<string, string>
        {
            ["SessionId"] = sessionId,
            ["Metrics"] = meter,
            ["RefreshInterval"] = refresh.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            ["MaxTimeSeries"] = "1000",
            ["MaxHistograms"] = "10",
        };
        var provider = new EventPipeProvider(Provider, EventLevel.Informational, TimeSeriesValues, arguments);
        // Bounded: a process that has only just started, or a loaded machine, can leave the request unanswered,
        // and jit top must then say so rather than wait forever.
        using var patience = new CancellationTokenSource(AttachTimeout);
        try
        {
            session = new DiagnosticsClient(pid).StartEventPipeSessionAsync(provider, requestRundown: false, circularBufferMB: 16, patience.Token)
                .GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"its diagnostics endpoint did not answer within {AttachTimeout.TotalSeconds:0} s");
        }
        reader = new Thread(Read) { IsBackground = true, Name = "jit top: EventPipe reader" };
        reader.Start();
    }

    /// <summary>Why the stream ended early or a value could not be read (from the target's EventSource, or the stream).</summary>
    public string? Error => error;

    /// <summary>The next complete interval; false when none came within <paramref name="timeout"/> or the stream ended.</summary>
    public bool TryNext(TimeSpan timeout, out MeterSample sample)
    {
        try
        {
            return samples.TryTake(out sample!, timeout);
        }
        catch (InvalidOperationException)
        {
            // Completed and drained: the stream ended.
            sample = null!;
            return false;
        }
    }

    /// <summary>True once the stream has ended (the target exited or the session stopped) and every sample was taken.</summary>
    public bool Ended => samples.IsCompleted;

    private void Read()
    {
        try
        {
            using var source = new EventPipeEventSource(session.EventStream);
            source.Dynamic.All += OnEvent;
            source.Process();
        }
        catch (Exception e)
        {
            error ??= $"the event stream broke: {e.Message}";
        }
        finally
        {
            samples.CompleteAdding();
        }
    }

    private void OnEvent(TraceEvent e)
    {
        if (e.ProviderName != Provider) return;
        // TraceEvent names an event whose name ends in Start or Stop as task/opcode: "Collection/Start".
        switch (e.EventName)
        {
            case "CollectionStart" or "Collection/Start" when Ours(e):
                pending = [];
                start = (DateTime)e.PayloadByName("intervalStartTime");
                break;
            case "CollectionStop" or "Collection/Stop" when Ours(e) && pending is not null:
                samples.Add(new MeterSample(start, (DateTime)e.PayloadByName("intervalEndTime"), pending));
                pending = null;
                break;
            case "CounterRateValuePublished" or "UpDownCounterRateValuePublished" when Ours(e):
                pending?.Add(Reading(e, Number(e, "rate"), Number(e, "value") ?? 0));
                break;
            case "GaugeValuePublished" when Ours(e):
                pending?.Add(Reading(e, null, Number(e, "lastValue") ?? 0));
                break;
            case "Error" or "ObservableInstrumentCallbackError" when Ours(e):
                error ??= (string)e.PayloadByName("errorMessage");
                break;
            case "MultipleSessionsNotSupportedError":
                error ??= "another tool is already monitoring this process's metrics (the runtime serves one session at a time)";
                break;
        }
    }

    private bool Ours(TraceEvent e) => (string)e.PayloadByName("sessionId") == sessionId;

    private static MeterReading Reading(TraceEvent e, double? delta, double value) => new(
        (string)e.PayloadByName("instrumentName"), (string)e.PayloadByName("tags"), (string)e.PayloadByName("unit"), delta, value);

    private static double? Number(TraceEvent e, string field) =>
        e.PayloadByName(field) is string s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;

    public void Dispose()
    {
        // The process may be gone or too busy to answer: its stream has ended or will, which is all Stop would
        // achieve, so wait for it only so long.
        var stop = Task.Run(() =>
        {
            try
            {
                session.Stop();
            }
            catch (Exception e) when (e is ServerNotAvailableException or IOException or TimeoutException or ObjectDisposedException)
            {
            }
        });
        stop.Wait(StopTimeout);
        reader.Join(TimeSpan.FromSeconds(5));
        session.Dispose();
    }
}
