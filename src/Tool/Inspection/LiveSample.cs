using Jit.Hypervisor.Tracing;
using Jit.Translator.Interpreter;

using Jit.Hypervisor;

namespace Jit.Tool.Inspection;

/// <summary>
/// What the vCPUs of a running domain executed over a window: block entries counted by a hook that each vCPU
/// installs and removes on its own thread (<see cref="Vcpu.Post"/>), and each one's decoded blocks, listed there
/// too, since a block cache is only safe to read on its vCPU's thread.
/// </summary>
public sealed class LiveSample
{
    public required Dictionary<ulong, BlockEntries> Entries { get; init; }
    public required List<Block> Blocks { get; init; }

    /// <summary>Thrown when a vCPU does not reach a point where it can take part, because the guest has stopped.</summary>
    public sealed class NotRunning(string message) : Exception(message);

    // How long a vCPU may take to reach its next block boundary or wait; a running one takes microseconds.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private sealed class Slot
    {
        public Action<ulong, ulong>? Previous;
        public bool Installed;
        public List<Block> Blocks = [];
    }

    public static LiveSample Take(Domain domain, TimeSpan window, CancellationToken stop)
    {
        var vcpus = domain.Vcpus.ToList();
        var counts = new BlockEntryCounts();
        var slots = vcpus.Select(_ => new Slot()).ToArray();
        // Set when the window was given up: a hook whose work runs late must not stay installed.
        int abandoned = 0;

        try
        {
            OnEach(vcpus, (v, i) =>
            {
                if (Volatile.Read(ref abandoned) != 0) return;
                slots[i].Previous = v.Engine.BlockEntered;
                v.Engine.BlockEntered = counts.Hook(slots[i].Previous);
                slots[i].Installed = true;
            }, () => Volatile.Write(ref abandoned, 1), stop);
            if (stop.WaitHandle.WaitOne(window)) throw new NotRunning("the guest stopped");
        }
        finally
        {
            // Also after a vCPU did not answer: the others must not keep counting.
            OnEach(vcpus, (v, i) =>
            {
                if (slots[i].Installed) v.Engine.BlockEntered = slots[i].Previous;
                slots[i].Installed = false;
                slots[i].Blocks = [.. v.Engine.Blocks];
            }, () => { }, stop);
        }
        return new LiveSample { Entries = counts.Total(), Blocks = [.. slots.SelectMany(s => s.Blocks)] };
    }

    /// <summary>Runs <paramref name="work"/> on every vCPU's thread and waits for all; <paramref name="giveUp"/> runs first when one does not answer.</summary>
    private static void OnEach(List<Vcpu> vcpus, Action<Vcpu, int> work, Action giveUp, CancellationToken stop)
    {
        // Not disposed: work that runs after the wait gave up still signals it.
        var done = new CountdownEvent(vcpus.Count);
        for (int i = 0; i < vcpus.Count; i++)
        {
            var (v, index) = (vcpus[i], i);
            v.Post(() =>
            {
                try { work(v, index); }
                finally { done.Signal(); }
            });
        }
        bool answered;
        try
        {
            answered = done.Wait(Patience, stop);
        }
        catch (OperationCanceledException)
        {
            giveUp();
            throw new NotRunning("the guest stopped");
        }
        if (!answered)
        {
            giveUp();
            throw new NotRunning($"the guest's vCPUs did not answer within {Patience.TotalSeconds:0} s (has it stopped?)");
        }
    }
}
