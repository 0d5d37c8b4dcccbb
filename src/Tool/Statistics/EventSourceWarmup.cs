using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Runtime.CompilerServices;

using Jit.Hypervisor;

namespace Jit.Tool.Statistics;

/// <summary>
/// Creates the runtime's own event sources before the program does anything else, so that a monitor
/// attaching while a jit process starts (<c>jit top</c>, dotnet-counters, dotnet-trace) cannot deadlock it.
/// </summary>
/// <remarks>
/// The runtime has an ordering bug here (dotnet/runtime issues 105682, 118014, 119014): an event source's
/// static constructor holds that type's initialisation lock and then takes the global event-listener lock,
/// while an EventPipe session that starts at the same moment holds the listener lock and then needs the same
/// type initialised. Both threads wait forever; a jit process was seen stuck that way before printing a byte.
/// Initialising the sources first shrinks the window to the first milliseconds of the process, and
/// <c>jit top</c> additionally waits for its target to be past them.
/// </remarks>
public static class EventSourceWarmup
{
    // Every EventSource the runtime libraries a jit process loads define; a name that a later runtime drops or
    // renames is skipped, since the warm-up only narrows a race and must never stop the program.
    private static readonly (Type Anchor, string Name)[] Sources =
    [
        (typeof(object), "System.Diagnostics.Tracing.NativeRuntimeEventSource"),
        (typeof(object), "System.Diagnostics.Tracing.RuntimeEventSource"),
        (typeof(object), "System.Diagnostics.Tracing.FrameworkEventSource"),
        (typeof(object), "System.Buffers.ArrayPoolEventSource"),
        (typeof(object), "System.Threading.Tasks.TplEventSource"),
        (typeof(Meter), "System.Diagnostics.Metrics.MetricsEventSource"),
        (typeof(Meter), "System.Diagnostics.DiagnosticSourceEventSource"),
        (typeof(System.Collections.Concurrent.BlockingCollection<>), "System.Collections.Concurrent.CDSCollectionETWBCLProvider"),
    ];

    /// <summary>The sources this runtime has, by full type name; those it lacks are left out.</summary>
    public static IEnumerable<Type> KnownSources() =>
        Sources.Select(s => s.Anchor.Assembly.GetType(s.Name)).OfType<Type>().Where(t => t.IsSubclassOf(typeof(EventSource)));

    public static void Run()
    {
        foreach (var source in KnownSources())
            RuntimeHelpers.RunClassConstructor(source.TypeHandle);
    }
}
