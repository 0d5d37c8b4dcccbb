using Jit.Runtime;
using Jit.Translator.Interpreter;
using Jit.Runtime.Startup;

namespace Jit.Translator.Tier1;

/// <summary>
/// Turns hot blocks into <see cref="CompiledBlock"/>s: inline on the caller's thread, or on one background
/// thread shared by every vCPU of the process (the machine has two cores: the vCPU keeps one, RyuJIT the other).
/// A compiled block is published with a volatile write on <see cref="Block.Compiled"/>, so a vCPU either sees
/// nothing and interprets, or sees a complete delegate; it never waits.
/// </summary>
[CompiledEarly]
public static unsafe class Tier1Compiler
{
    // Not first-come first-served: a boot queues hundreds of blocks at once, and the ones still being
    // entered most while they wait are where the compiler's time pays back soonest.
    // A waiting region whose entry has not run for this long since it was queued is dropped, its block back to
    // counting from zero: boot code is hot for a moment and then never again, and compiling it then is waste.
    private static readonly long ColdAfter = System.Diagnostics.Stopwatch.Frequency / 50;
    private static readonly List<Waiting> queue = [];
    private static long dropped;

    private readonly record struct Waiting(Region Region, bool InlineTlb, ulong Entered, long Since);

    /// <summary>Regions dropped from the queue because their entry had gone cold while they waited.</summary>
    public static long Dropped => Interlocked.Read(ref dropped);
    private static Thread? worker;
    private static readonly Lock startLock = new();

    private static long compiled, rejected, compileTicks, instructionsCompiled;

    /// <summary>Host time spent compiling (IL emission and RyuJIT) and guest instructions compiled, over the process.</summary>
    public static (TimeSpan Time, long Instructions) Cost =>
        (TimeSpan.FromTicks(Interlocked.Read(ref compileTicks) * TimeSpan.TicksPerSecond / System.Diagnostics.Stopwatch.Frequency), Interlocked.Read(ref instructionsCompiled));

    /// <summary>Blocks compiled and blocks tier 1 declined (no leading instruction it covers, or a compiler failure).</summary>
    public static (long Compiled, long Rejected) Statistics => (Interlocked.Read(ref compiled), Interlocked.Read(ref rejected));

    private static long ilBytes, jitTicks;

    /// <summary>Blocks waiting for the background compiler.</summary>
    public static int QueueLength
    {
        get { lock (queue) return queue.Count; }
    }

    /// <summary>
    /// IL bytes RyuJIT compiled for tier 1 and the time it spent, as the runtime's per-thread JIT figures see
    /// them around each compilation (so they include whatever the compiler itself still needed compiling).
    /// </summary>
    public static (long ILBytes, TimeSpan JitTime) CodeStatistics =>
        (Interlocked.Read(ref ilBytes), TimeSpan.FromTicks(Interlocked.Read(ref jitTicks)));

    /// <summary>Compiles <paramref name="region"/> on the background thread; the caller goes on interpreting its entry.</summary>
    public static void Enqueue(Region region, bool inlineTlb)
    {
        region.Entry.Tier1State = Tier1State.Queued;
        Cover(region, +1);
        EnsureWorker();
        lock (queue)
        {
            queue.Add(new Waiting(region, inlineTlb, region.Entry.Executions, System.Diagnostics.Stopwatch.GetTimestamp()));
            Monitor.Pulse(queue);
        }
    }

    /// <summary>Compiles <paramref name="region"/> now, on the calling thread.</summary>
    public static void CompileNow(Region region, bool inlineTlb)
    {
        region.Entry.Tier1State = Tier1State.Queued;
        CompileAndInstall(region, inlineTlb);
    }

    /// <summary>
    /// Compiles <paramref name="region"/> again, on the calling thread and with the options the engine used, with
    /// its IL recorded (<c>jit disasm</c>); installs nothing. Null when tier 1 covers none of its entry's instructions.
    /// </summary>
    public static Inspection.CompiledIl? Inspect(Region region, bool inlineTlb)
    {
        var recorder = new Inspection.IlRecorder();
        CompiledBlock? code;
        using (recorder.Activate()) code = BlockCompiler.Compile(region, inlineTlb);
        return code is null ? null : new Inspection.CompiledIl(code, region.Blocks.Sum(region.Prefix), recorder);
    }

    /// <summary>
    /// Starts the background compiler before any block is hot (an engine set to compile in the background calls
    /// this). Its first job is <see cref="WarmUp"/>, so that it is done while the guest is still being loaded
    /// and its first instructions interpreted.
    /// </summary>
    public static void Start() => EnsureWorker();

    // The first instruction words of a block of each kind the compiler emits most (ALU with and without flags,
    // bitfields, loads and stores of each addressing form and size, pairs, SIMD pairs, conditional compare and
    // select, a conditional branch): compiling them makes RyuJIT compile this compiler's own emitters, which it
    // does at their first call since tiering is off. Without this the first region of a boot took about 70 ms,
    // all of it while the hottest early loops went on in the interpreter.
    private static readonly uint[][] WarmUpBlocks =
    [
        [0x8b020020, 0x11004083, 0xf1000405, 0x92401ca6, 0xaa010cc7, 0x4a0600e8, 0xd34cfd09, 0xd3442d2a, 0x9a89114b,
         0x9b0a256c, 0x9000000d, 0xf940042e, 0x3862682f, 0x78402430, 0xb85fcc31, 0xf900084e, 0x3900044f, 0xa9bf3fee,
         0xa8c13fee, 0xad400420, 0xad000440, 0xeb01001f, 0xfa421000, 0x54000021],
        [0xb4000043],
        [0xd65f03c0],
    ];

    /// <summary>
    /// Compiles <see cref="WarmUpBlocks"/> and throws the code away: nothing is installed or counted, and a
    /// failure here only means the first real region pays for the warm-up itself.
    /// </summary>
    private static void WarmUp()
    {
        try
        {
            foreach (uint[] words in WarmUpBlocks)
            {
                var insts = Array.ConvertAll(words, Predecoder.Predecode);
                var code = BlockCompiler.Compile(Region.Single(new Block(0, insts)), inlineTlb: true);
                code?.Invoke(null, null!, null, null, 0, 0);
            }
        }
        catch (Exception e)
        {
            Log.Once($"tier1-warmup:{e.GetType().Name}", $"tier 1's warm-up failed ({e.GetType().Name}: {e.Message}); the first region will compile slower");
        }
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
        WarmUp();
        while (true)
        {
            Waiting next;
            lock (queue)
            {
                while (queue.Count == 0) Monitor.Wait(queue);
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                // Executions keeps counting while a block waits (it is still interpreted), racily read here.
                for (int i = queue.Count - 1; i >= 0; i--)
                {
                    Waiting w = queue[i];
                    if (now - w.Since < ColdAfter || w.Region.Entry.Executions != w.Entered) continue;
                    w.Region.Entry.Executions = 0;
                    w.Region.Entry.Tier1State = Tier1State.Interpreted;
                    Cover(w.Region, -1);
                    queue[i] = queue[^1];
                    queue.RemoveAt(queue.Count - 1);
                    dropped++;
                }
                if (queue.Count == 0) continue;
                int best = 0;
                for (int i = 1; i < queue.Count; i++)
                    if (queue[i].Region.Entry.Executions > queue[best].Region.Entry.Executions) best = i;
                next = queue[best];
                queue[best] = queue[^1];
                queue.RemoveAt(queue.Count - 1);
            }
            CompileAndInstall(next.Region, next.InlineTlb);
            Cover(next.Region, -1);
        }
    }

    /// <summary>Counts a region in (or out of) the <see cref="Block.WaitingRegions"/> of its members other than its entry.</summary>
    private static void Cover(Region region, int delta)
    {
        foreach (Block b in region.Blocks)
            if (b != region.Entry) Interlocked.Add(ref b.WaitingRegions, delta);
    }

    private static void CompileAndInstall(Region region, bool inlineTlb)
    {
        Block block = region.Entry;
        CompiledBlock? code;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        long ilBefore = System.Runtime.JitInfo.GetCompiledILBytes(currentThread: true);
        TimeSpan jitBefore = System.Runtime.JitInfo.GetCompilationTime(currentThread: true);
        try
        {
            code = BlockCompiler.Compile(region, inlineTlb);
            // Make RyuJIT compile it here rather than on the vCPU's first call.
            code?.Invoke(null, null!, null, null, 0, 0);
        }
        catch (Exception e)
        {
            // A compiler bug must cost speed, never correctness: the block stays interpreted.
            Log.Once($"tier1:{e.GetType().Name}", $"tier 1 could not compile a block ({e.GetType().Name}: {e.Message}); it stays interpreted");
            code = null;
        }
        Interlocked.Add(ref compileTicks, System.Diagnostics.Stopwatch.GetTimestamp() - start);
        Interlocked.Add(ref ilBytes, System.Runtime.JitInfo.GetCompiledILBytes(currentThread: true) - ilBefore);
        Interlocked.Add(ref jitTicks, (System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - jitBefore).Ticks);
        if (code is null)
        {
            Interlocked.Increment(ref rejected);
            block.Tier1State = Tier1State.Rejected;
            return;
        }
        Interlocked.Increment(ref compiled);
        Interlocked.Add(ref instructionsCompiled, region.Blocks.Sum(b => (long)region.Prefix(b)));
        var closure = (RegionClosure)code.Target!;
        closure.Publish(code, block.Pa);
        block.Closure = closure;
        Volatile.Write(ref block.Compiled, code);
        block.Tier1State = Tier1State.Compiled;
    }
}
