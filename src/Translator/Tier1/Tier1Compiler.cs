using System.Collections.Concurrent;
using Jit.Runtime;
using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1;

/// <summary>
/// Turns hot blocks into <see cref="CompiledBlock"/>s: inline on the caller's thread, or on one background
/// thread shared by every vCPU of the process (the machine has two cores: the vCPU keeps one, RyuJIT the other).
/// A compiled block is published with a volatile write on <see cref="Block.Compiled"/>, so a vCPU either sees
/// nothing and interprets, or sees a complete delegate; it never waits.
/// </summary>
public static unsafe class Tier1Compiler
{
    private static readonly BlockingCollection<(Block Block, bool InlineTlb)> queue = new(new ConcurrentQueue<(Block, bool)>());
    private static Thread? worker;
    private static readonly Lock startLock = new();

    private static long compiled, rejected;

    /// <summary>Blocks compiled and blocks tier 1 declined (no leading instruction it covers, or a compiler failure).</summary>
    public static (long Compiled, long Rejected) Statistics => (Interlocked.Read(ref compiled), Interlocked.Read(ref rejected));

    private static long ilBytes, jitTicks;

    /// <summary>Blocks waiting for the background compiler.</summary>
    public static int QueueLength => queue.Count;

    /// <summary>
    /// IL bytes RyuJIT compiled for tier 1 and the time it spent, as the runtime's per-thread JIT figures see
    /// them around each compilation (so they include whatever the compiler itself still needed compiling).
    /// </summary>
    public static (long ILBytes, TimeSpan JitTime) CodeStatistics =>
        (Interlocked.Read(ref ilBytes), TimeSpan.FromTicks(Interlocked.Read(ref jitTicks)));

    /// <summary>Compiles <paramref name="block"/> on the background thread; the caller goes on interpreting it.</summary>
    public static void Enqueue(Block block, bool inlineTlb)
    {
        block.Tier1State = Tier1State.Queued;
        EnsureWorker();
        queue.Add((block, inlineTlb));
    }

    /// <summary>Compiles <paramref name="block"/> now, on the calling thread.</summary>
    public static void CompileNow(Block block, bool inlineTlb)
    {
        block.Tier1State = Tier1State.Queued;
        CompileAndInstall(block, inlineTlb);
    }

    private static void EnsureWorker()
    {
        if (Volatile.Read(ref worker) is not null) return;
        lock (startLock)
        {
            if (worker is not null) return;
            var t = new Thread(Work) { IsBackground = true, Name = "jit tier1 compiler" };
            t.Start();
            Volatile.Write(ref worker, t);
        }
    }

    private static void Work()
    {
        foreach (var (block, inlineTlb) in queue.GetConsumingEnumerable())
            CompileAndInstall(block, inlineTlb);
    }

    private static void CompileAndInstall(Block block, bool inlineTlb)
    {
        CompiledBlock? code;
        long ilBefore = System.Runtime.JitInfo.GetCompiledILBytes(currentThread: true);
        TimeSpan jitBefore = System.Runtime.JitInfo.GetCompilationTime(currentThread: true);
        try
        {
            code = BlockCompiler.Compile(block, inlineTlb);
            // Make RyuJIT compile it here rather than on the vCPU's first call.
            code?.Invoke(null, null!, null, null, 0);
        }
        catch (Exception e)
        {
            // A compiler bug must cost speed, never correctness: the block stays interpreted.
            Log.Once($"tier1:{e.GetType().Name}", $"tier 1 could not compile a block ({e.GetType().Name}: {e.Message}); it stays interpreted");
            code = null;
        }
        Interlocked.Add(ref ilBytes, System.Runtime.JitInfo.GetCompiledILBytes(currentThread: true) - ilBefore);
        Interlocked.Add(ref jitTicks, (System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - jitBefore).Ticks);
        if (code is null)
        {
            Interlocked.Increment(ref rejected);
            block.Tier1State = Tier1State.Rejected;
            return;
        }
        Interlocked.Increment(ref compiled);
        Volatile.Write(ref block.Compiled, code);
        block.Tier1State = Tier1State.Compiled;
    }
}
