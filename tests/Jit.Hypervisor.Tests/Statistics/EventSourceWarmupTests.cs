using Jit.Tool.Statistics;
using System.Diagnostics.Tracing;
using Jit.Hypervisor.Statistics;

namespace Jit.Hypervisor.Tests.Statistics;

/// <summary>
/// The start-up warm-up that keeps a monitor attaching early (jit top, dotnet-counters) from deadlocking a jit
/// process only works while it names the runtime's real event sources.
/// </summary>
public class EventSourceWarmupTests
{
    [Fact]
    public void NamesEveryEventSourceOfTheRuntimeLibrariesAJitLoads()
    {
        var named = EventSourceWarmup.KnownSources().Select(t => t.FullName).ToHashSet();

        // A runtime update that renames one would silently reopen the race: the list must follow it.
        var assemblies = new[] { typeof(object), typeof(System.Diagnostics.Metrics.Meter), typeof(System.Collections.Concurrent.BlockingCollection<>) }
            .Select(t => t.Assembly);
        var present = assemblies.SelectMany(a => a.GetTypes())
            .Where(t => t.IsSubclassOf(typeof(EventSource)) && !t.IsAbstract)
            .Select(t => t.FullName)
            .ToHashSet();
        Assert.Subset(present, named);
        Assert.Equal(8, named.Count);
    }

    [Fact]
    public void RunsWithoutCreatingAnEventListener()
    {
        EventSourceWarmup.Run();
        Assert.Contains(EventSource.GetSources(), s => s.Name == "System.Diagnostics.Metrics");
    }
}
