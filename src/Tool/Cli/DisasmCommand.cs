using System.Globalization;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.ConsoleBackend;
using Jit.Tool.Inspection;
using Jit.Hypervisor.Tracing;
using Jit.Runtime.Memory;
using Jit.Translator;
using Jit.Translator.Interpreter;
using Jit.Translator.Tier1;
using Jit.Translator.Tier1.Inspection;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>
/// <c>jit disasm</c>: runs a guest, then shows compiled regions three ways — the A64 the guest ran, the IL
/// tier 1 emitted for it and the x86-64 RyuJIT made of that — with the figures that compare them.
/// </summary>
internal static class DisasmCommand
{
    public const string Usage =
        "jit disasm (--bare <file.elf|file.bin> | --kernel <Image> [--initrd F] [--append \"…\"] [--smp N] | boot | --pid PID) " +
        "[--hot N | --at ADDR] [--until TEXT] [--seconds S] [--max-instructions N] [--mem SIZE] [--jit OPTIONS] [--json] [--console]";

    private const string Help = """
        Runs the guest with tier 1 compiling on the vCPU thread (--jit tier1=sync unless --jit says otherwise),
        counting every block entry, then compiles the chosen blocks once more with their IL recorded and reads
        the machine code RyuJIT produced (the runtime's JIT events give its address and size). Or asks a jit
        that is running a guest (jit run, jit boot) to do the same for what its guest runs now.

        The guest, as for jit run:
          --bare FILE           a bare-metal program (ELF or flat binary); runs until it powers off
          --kernel IMAGE        a Linux kernel, with --initrd F, --append "ARGS", --smp N
          boot                  Debian's kernel with the test initramfs (fetched and built as for jit boot),
                                stopped when the guest prints BOOT-OK; "console=ttyAMA0 nokaslr" unless
                                --append, so kernel addresses repeat from run to run
          --mem SIZE            RAM size
          --pid PID             no guest of its own: the jit process PID counts its vCPUs' block entries for
                                --seconds S (default 1), then shows its regions; the guest runs on

        When to stop (whichever comes first; the guest stops by itself when it powers off):
          --until TEXT          when the guest's console prints TEXT
          --seconds S           after S seconds of wall time
          --max-instructions N  after about N instructions of vCPU 0

        What to show:
          --hot N               the N compiled blocks entered most often (default 1)
          --at ADDR             the compiled block at (or holding) guest virtual address ADDR (hex)
          --json                the figures only, one object per region, as JSON on stdout
          --console             the guest's console output on stderr (otherwise dropped)
          --jit OPTIONS         engine switches as for jit run (threshold=N, inline-tlb=off, …)

        For each region: the A64 instructions tier 1 covers (address, word, objdump text), the IL listing
        (offsets, labels L0…, locals V_n), the x86-64 listing (offsets from the method's start, bytes, Intel
        syntax) and a summary: guest instructions, IL ops and bytes, host bytes and instructions, and host bytes
        and instructions per guest instruction.

        Exit codes: 0 listed; 1 nothing to list (no compiled block, or none at ADDR) or the guest failed;
        2 bad command line or image.
        """;

    private const string BootMarker = "BOOT-OK";

    private sealed record Settings(
        string? Bare, string? Kernel, string? Initrd, string Append, int Smp, ulong? Mem, bool Boot,
        int Hot, ulong? At, string? Until, TimeSpan? Seconds, ulong MaxInstructions, JitOptions Jit, bool Json, bool Console, int? Pid);

    public static int Execute(string[] args, TextWriter stderr) => Execute(args, System.Console.Out, stderr);

    internal static int Execute(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Any(a => a is "-h" or "--help"))
        {
            stdout.WriteLine($"usage: {Usage}");
            stdout.WriteLine();
            stdout.WriteLine(Help);
            return CommandLine.ExitCodes.Ok;
        }
        var s = Parse(args);
        if (s.Pid is { } pid) return AskRunning(pid, s, stdout, stderr);
        Func<Stream, Machine> build;
        string guest;
        if (s.Bare is { } bare)
        {
            ulong size = s.Mem ?? BareMetalMachine.DefaultRamSize;
            if (size < 4096 || size % 4096 != 0 || size > BareMetalMachine.MaxRamSize)
                throw new UsageError("--mem must be a multiple of 4K between 4K and 3G");
            build = console => BareMetalMachine.Create(bare, console, size);
            guest = bare;
        }
        else
        {
            string? kernel = s.Kernel, initrd = s.Initrd;
            if (s.Boot && !FetchBootGuest(stderr, out kernel, out initrd)) return CommandLine.ExitCodes.Failure;
            var options = RunCommand.Linux(kernel!, initrd, s.Append, s.Mem, s.Smp);
            build = console => LinuxMachine.Create(options, console);
            guest = s.Boot ? "boot" : kernel!;
        }
        return RunAndShow(s, guest, build, stdout, stderr);
    }

    private static Settings Parse(string[] args)
    {
        string? bare = null, kernel = null, initrd = null, until = null;
        int? pid = null;
        string append = "console=ttyAMA0";
        ulong? mem = null, at = null;
        int smp = 1, hot = 0;
        bool boot = false, json = false, console = false, appendGiven = false;
        TimeSpan? seconds = null;
        ulong maxInstructions = ulong.MaxValue;
        // Synchronous compiles make the set of compiled blocks the same from run to run.
        var jit = RunCommand.ParseJit(Environment.GetEnvironmentVariable("JIT_OPTIONS"), new JitOptions { Tier1 = Tier1Mode.Synchronous }, "JIT_OPTIONS");
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "boot" when i == 0: boot = true; break;
                case "--bare": bare = Options.Value(args, ref i); break;
                case "--pid": pid = ProcessId(Options.Value(args, ref i)); break;
                case "--kernel": kernel = Options.Value(args, ref i); break;
                case "--initrd": initrd = Options.Value(args, ref i); break;
                case "--append": append = Options.Value(args, ref i); appendGiven = true; break;
                case "--smp": smp = (int)Options.Count("--smp", Options.Value(args, ref i)); break;
                case "--mem": mem = Options.Size("--mem", Options.Value(args, ref i)); break;
                case "--hot": hot = (int)Math.Min(10_000, Options.Count("--hot", Options.Value(args, ref i))); break;
                case "--at": at = Address("--at", Options.Value(args, ref i)); break;
                case "--until": until = Options.Value(args, ref i); break;
                case "--seconds": seconds = Options.Seconds("--seconds", Options.Value(args, ref i)); break;
                case "--max-instructions": maxInstructions = Options.Count("--max-instructions", Options.Value(args, ref i)); break;
                case "--jit": jit = RunCommand.ParseJit(Options.Value(args, ref i), jit, "--jit"); break;
                case "--json": json = true; break;
                case "--console": console = true; break;
                default:
                    throw new UsageError(args[i].StartsWith('-') ? $"unknown option {args[i]}" : $"unexpected argument '{args[i]}'");
            }
        }
        if ((bare is not null ? 1 : 0) + (kernel is not null ? 1 : 0) + (boot ? 1 : 0) + (pid is not null ? 1 : 0) != 1)
            throw new UsageError("give exactly one of --bare <file>, --kernel <Image>, boot or --pid PID");
        if (pid is not null)
        {
            // The process runs its own guest with its own engine settings; only what to show and the window apply.
            string[] ownRun = ["--until", "--max-instructions", "--jit", "--console", "--mem", "--append", "--smp"];
            if (args.FirstOrDefault(a => ownRun.Contains(a)) is { } other) throw new UsageError($"{other} does not go with --pid: that process runs its guest as it was started");
        }
        if ((bare is not null || boot) && initrd is not null) throw new UsageError("--initrd needs --kernel");
        if (hot > 0 && at is not null) throw new UsageError("give --hot N or --at ADDR, not both");
        if (pid is null && jit.Tier1 == Tier1Mode.Off) throw new UsageError("there is nothing to show with tier1=off");
        if (boot)
        {
            until ??= BootMarker;
            // Without KASLR the kernel's addresses are the same in every run, so --at can name one.
            if (!appendGiven) append += " nokaslr";
        }
        return new Settings(bare, kernel, initrd, append, smp, mem, boot, at is null ? Math.Max(hot, 1) : 0, at, until, seconds,
            maxInstructions, jit, json, console, pid);
    }

    private static int ProcessId(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p > 0 ? p : throw new UsageError($"--pid '{text}' is not a process id");

    /// <summary><c>--pid</c>: the request goes to the running jit's inspection socket, the listing comes back.</summary>
    private static int AskRunning(int pid, Settings s, TextWriter stdout, TextWriter stderr)
    {
        var window = s.Seconds ?? TimeSpan.FromSeconds(1);
        if (window > TimeSpan.FromSeconds(60)) throw new UsageError("--seconds with --pid is at most 60");
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
        }
        catch (ArgumentException)
        {
            stderr.WriteLine($"jit disasm: no process with id {pid}");
            return CommandLine.ExitCodes.BadInput;
        }
        string path = InspectionEndpoint.PathFor(pid);
        if (!File.Exists(path))
        {
            stderr.WriteLine($"jit disasm: process {pid} is not a jit running a guest (it has no {path})");
            return CommandLine.ExitCodes.BadInput;
        }
        var request = new DisasmRequest(s.Hot, s.At, window, s.Json);
        string? status;
        string body;
        try
        {
            // The window, the vCPUs' answers and the compiles; a process that takes longer is stuck.
            (status, body) = InspectionEndpoint.Ask(path, request, window + TimeSpan.FromSeconds(60));
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            stderr.WriteLine($"jit disasm: cannot reach process {pid} at {path}: {e.Message}");
            return CommandLine.ExitCodes.Failure;
        }
        if (status != InspectionEndpoint.Ok)
        {
            stderr.WriteLine(status is null ? $"jit disasm: process {pid} closed the connection without an answer"
                : status.StartsWith(InspectionEndpoint.ErrorPrefix, StringComparison.Ordinal) ? $"jit disasm: process {pid}: {status[InspectionEndpoint.ErrorPrefix.Length..]}"
                : $"jit disasm: process {pid} answered something else than a listing: {status}");
            return CommandLine.ExitCodes.Failure;
        }
        stdout.Write(body);
        stdout.Flush();
        return CommandLine.ExitCodes.Ok;
    }

    /// <summary>A guest address in hex, with or without 0x; '_' separators allowed.</summary>
    internal static ulong Address(string option, string text)
    {
        string t = text.Replace("_", "");
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) t = t[2..];
        if (t.Length == 0 || !ulong.TryParse(t, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong a))
            throw new UsageError($"{option} '{text}' is not a hexadecimal address");
        return a;
    }

    private static bool FetchBootGuest(TextWriter stderr, out string? kernel, out string? initrd)
    {
        initrd = null;
        string root = BootCommand.RepositoryRoot() ?? throw new UsageError("cannot find the Jit repository (its scripts fetch the guest); run ./jit from a checkout");
        kernel = BootCommand.Script(root, stderr, "scripts/fetch-arm64.sh", "kernel");
        if (kernel is null) return false;
        string cache = Environment.GetEnvironmentVariable("JIT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "jit");
        initrd = BootCommand.Script(root, stderr, "guests/initramfs/build.sh", "test", Path.Combine(cache, "initramfs-test.cpio.gz"));
        return initrd is not null;
    }

    private static int RunAndShow(Settings s, string guest, Func<Stream, Machine> build, TextWriter stdout, TextWriter stderr)
    {
        Stream? echo = s.Console ? System.Console.OpenStandardError() : null;
        var watch = new MarkerWatch(echo, s.Until ?? "");
        Machine machine;
        try
        {
            machine = build(watch);
        }
        catch (ImageError e)
        {
            stderr.WriteLine($"jit: {e.Message}");
            return CommandLine.ExitCodes.BadInput;
        }
        using (machine)
        {
            machine.Domain.JitOptions = s.Jit;
            // Listening from the start, the capture also learns where the methods tiered up during the run
            // live, which names the calls in the host listings.
            using var capture = new HostCodeCapture();
            var counts = new BlockEntryCounts();
            counts.Attach(machine.Domain.Vcpus);
            watch.Seen += machine.Domain.Stop;
            RunResult result;
            try
            {
                result = machine.Run(s.Seconds, s.MaxInstructions);
            }
            catch (Exception e)
            {
                stderr.WriteLine($"jit: emulator failure at guest PC 0x{machine.Vcpu.PcForDiagnostics:x}: {e.GetType().Name}: {e.Message}");
                return CommandLine.ExitCodes.Failure;
            }
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"jit disasm: {result.Instructions:N0} instructions in {result.WallTime.TotalSeconds:F3} s, {Ending(result, watch, s)} ({s.Jit})"));

            var blocks = machine.Domain.Vcpus.SelectMany(v => v.Engine.Blocks);
            var regions = Listing(machine.Domain.Memory, blocks, counts.Total(), s.Jit, s.Hot, s.At, capture, out string? problem);
            if (regions is null)
            {
                stderr.WriteLine($"jit disasm: {problem}");
                return CommandLine.ExitCodes.Failure;
            }
            var run = new DisasmReport.Run(guest, result.Instructions, s.Jit.ToString());
            if (s.Json) DisasmReport.WriteJson(stdout, run, regions);
            else DisasmReport.WriteText(stdout, regions);
            stdout.Flush();
            return CommandLine.ExitCodes.Ok;
        }
    }

    private static string Ending(RunResult r, MarkerWatch watch, Settings s) =>
        watch.Found ? $"stopped at '{s.Until}'" : r.End switch
        {
            RunEnd.PowerOff => "the guest powered off",
            RunEnd.Reset => "the guest asked for a reset",
            RunEnd.AllVcpusOff => "the guest turned its vCPUs off",
            RunEnd.Timeout => $"stopped after {s.Seconds!.Value.TotalSeconds:0.###} s",
            RunEnd.InstructionLimit => "stopped at the instruction limit",
            _ => "interrupted",
        };

    /// <summary>
    /// The regions of the <paramref name="hot"/> compiled blocks entered most, or of the one at <paramref name="at"/>,
    /// inspected; null, with the reason for the user, when nothing matches or the inspection failed.
    /// </summary>
    internal static List<DisasmReport.Region>? Listing(PhysicalMemory memory, IEnumerable<Block> blocks, Dictionary<ulong, BlockEntries> entries,
        JitOptions jit, int hot, ulong? at, HostCodeCapture capture, out string? problem)
    {
        problem = null;
        var choice = new RegionChoice(blocks, entries, jit);
        List<Block> chosen;
        try
        {
            chosen = at is { } va ? [choice.At(va)] : choice.Hottest(hot);
        }
        catch (RegionChoice.NothingToShow e)
        {
            problem = e.Message;
            return null;
        }
        uint[] Words(ulong pa, int count)
        {
            var bytes = new byte[count * 4];
            memory.Read(pa, bytes);
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(bytes).ToArray();
        }
        var regions = new List<DisasmReport.Region>();
        foreach (var block in chosen)
        {
            bool ran = entries.TryGetValue(block.Pa, out var e);
            try
            {
                // The region the run compiled at this block; a block tier 1 never reached is shown on its own.
                var code = RegionInspector.Inspect(block.Region ?? Region.Single(block), ran ? e.Va : block.Pa, Words, jit.InlineTlb, capture);
                regions.Add(new DisasmReport.Region(code, e.Count));
            }
            catch (Exception x)
            {
                // A compiler bug or missing JIT events: name the block, as the run loop names the PC.
                problem = $"the block at PA 0x{block.Pa:x}: {x.GetType().Name}: {x.Message}";
                return null;
            }
        }
        return regions;
    }
}
