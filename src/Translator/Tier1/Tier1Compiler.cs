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

    /// <summary>
    /// Compiles <paramref name="block"/> again, on the calling thread and with the options the engine used, with
    /// its IL recorded (<c>jit disasm</c>); installs nothing. Null when tier 1 covers none of its instructions.
    /// </summary>
    public static Inspection.CompiledIl? Inspect(Block block, bool inlineTlb)
    {
        var recorder = new Inspection.IlRecorder();
        CompiledBlock? code;
        using (recorder.Activate()) code = BlockCompiler.Compile(block, inlineTlb);
        return code is null ? null : new Inspection.CompiledIl(code, BlockCompiler.CompilablePrefix(block.Insts), recorder);
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
