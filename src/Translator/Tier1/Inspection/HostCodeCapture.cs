using System.Diagnostics.Tracing;
using System.Runtime.InteropServices;

namespace Jit.Translator.Tier1.Inspection;

/// <summary>A copy of the machine code RyuJIT produced for one method, and where it lives.</summary>
public sealed record HostCode(string Method, ulong Address, byte[] Bytes);

/// <summary>
/// Finds the machine code RyuJIT produces for a DynamicMethod by listening, in process, to the runtime's own
/// JIT events: MethodLoadVerbose carries the method's name, start address and code size.
/// </summary>
/// <remarks>
/// The runtime hands these events to listeners on a dispatch thread of its own, a few milliseconds after the
/// compile, so <see cref="Capture"/> waits for them. Names are not unique (every compile of the block at one
/// address is called <c>a64_&lt;pa&gt;</c>, and the background compiler or another test may compile one at the
/// same time), so only a load on the capturing thread after the capture began counts.
/// </remarks>
public sealed partial class HostCodeCapture : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    // ClrEtwKeywords: Jit (method load events with their code addresses).
    private const EventKeywords JitKeyword = (EventKeywords)0x10;

    private readonly record struct Load(string Namespace, string Name, long Thread, ulong Address, uint Size);

    // Field initialisers run before EventListener's constructor, which already reports the existing sources.
    private readonly List<Load> loads = [];
    // A monitor, not a Lock: Capture waits on it for the dispatch thread's pulse.
    private readonly object gate = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == RuntimeSource) EnableEvents(source, EventLevel.Verbose, JitKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is null || !e.EventName.StartsWith("MethodLoadVerbose", StringComparison.Ordinal)) return;
        if (e.PayloadNames is not { } names || e.Payload is not { } values) return;
        if (Field(names, values, "MethodName") is not string name
            || Field(names, values, "MethodNamespace") is not string ns
            || Field(names, values, "MethodStartAddress") is not ulong address
            || Field(names, values, "MethodSize") is not uint size)
            return;
        lock (gate)
        {
            loads.Add(new Load(ns, name, e.OSThreadId, address, size));
            Monitor.PulseAll(gate);
        }
    }

    private static object? Field(IReadOnlyList<string> names, IReadOnlyList<object?> values, string name)
    {
        for (int i = 0; i < names.Count && i < values.Count; i++)
            if (names[i] == name) return values[i];
        return null;
    }

    /// <summary>
    /// Runs <paramref name="compile"/>, which must make RyuJIT compile <paramref name="method"/> on the calling
    /// thread (call the delegate once), and returns a copy of the code. The method must stay alive (hold its
    /// delegate) until this returns. Throws <see cref="TimeoutException"/> when no load event arrives.
    /// </summary>
    public HostCode Capture(string method, Action compile, TimeSpan timeout)
    {
        long thread = CurrentOsThread();
        int start;
        lock (gate) start = loads.Count;
        compile();
        var deadline = DateTime.UtcNow + timeout;
        lock (gate)
        {
            while (true)
            {
                for (int i = start; i < loads.Count; i++)
                {
                    Load l = loads[i];
                    if (l.Name == method && (thread == 0 || l.Thread == thread)) return new HostCode(method, l.Address, Copy(l.Address, l.Size));
                }
                start = loads.Count;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                    throw new TimeoutException($"the runtime reported no JIT load of {method} within {timeout.TotalSeconds:0.#} s");
                Monitor.Wait(gate, left);
            }
        }
    }

    /// <summary>
    /// The method whose code holds <paramref name="address"/> (<c>Type::Method</c>), among those compiled since
    /// this capture began listening; null for code compiled earlier and for stubs. Start the capture before the
    /// guest runs and the callees tiered up during the run are known.
    /// </summary>
    public string? MethodAt(ulong address)
    {
        lock (gate)
        {
            // Newest first: the code heap reuses the space of collected methods.
            for (int i = loads.Count - 1; i >= 0; i--)
            {
                Load l = loads[i];
                if (address - l.Address < l.Size) return $"{l.Namespace[(l.Namespace.LastIndexOf('.') + 1)..]}::{l.Name}";
            }
        }
        return null;
    }

    private static unsafe byte[] Copy(ulong address, uint size) => new ReadOnlySpan<byte>((void*)address, (int)size).ToArray();

    /// <summary>The kernel's id of the calling thread, which the runtime's events carry; 0 where unknown (no filter).</summary>
    private static long CurrentOsThread()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        try
        {
            return GetTid();
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return 0;
        }
    }

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
