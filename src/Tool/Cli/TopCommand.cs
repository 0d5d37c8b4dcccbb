using System.Diagnostics;
using System.Globalization;
using Jit.Hypervisor.Statistics;
using Jit.Tool.Statistics;
using Microsoft.Diagnostics.NETCore.Client;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>
/// <c>jit top PID</c>: attaches to a running jit process over the .NET diagnostics port and shows its
/// <see cref="JitMeter"/> counters, one screen per interval, as <c>dotnet-counters monitor --counters Jit</c>
/// would.
/// </summary>
internal static class TopCommand
{
    public const string Usage = "jit top <pid> [--once | --samples N] [--interval SECONDS]";

    private const string Help = """
        Shows the live counters of a running jit process (its "Jit" meter, read over EventPipe like
        dotnet-counters does): guest instructions and MIPS, exits by kind, TLB misses, SMCCC calls by owner,
        blocks decoded and the tier 1 compiler's figures, with totals and rates per second. The screen is
        redrawn every interval until Ctrl-C or the process ends.

          --interval SECONDS    sampling interval (default 1)
          --samples N           print N samples one after another, then exit (no redraw)
          --once                the same as --samples 1

        Exit codes: 0 done; 1 the process ended or published no Jit counters; 2 bad command line, no such
        process, or not a jit process.
        """;

    // Long enough for a jit process that is still building its guest to start running it.
    private static readonly TimeSpan FirstSamplePatience = TimeSpan.FromSeconds(15);

    public static int Execute(string[] args, TextWriter stderr)
    {
        int? pid = null;
        int samples = 0;
        TimeSpan interval = TimeSpan.FromSeconds(1);
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help":
                    Console.Out.WriteLine($"usage: {Usage}");
                    Console.Out.WriteLine();
                    Console.Out.WriteLine(Help);
                    return CommandLine.ExitCodes.Ok;
                case "--once": samples = 1; break;
                case "--samples": samples = (int)Math.Min(Options.Count("--samples", Options.Value(args, ref i)), int.MaxValue); break;
                case "--interval": interval = Options.Seconds("--interval", Options.Value(args, ref i)); break;
                default:
                    if (args[i].StartsWith('-')) throw new UsageError($"unknown option {args[i]}");
                    if (pid is not null) throw new UsageError($"unexpected argument '{args[i]}'");
                    if (!int.TryParse(args[i], NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p <= 0)
                        throw new UsageError($"'{args[i]}' is not a process id");
                    pid = p;
                    break;
            }
        }
        if (pid is not int target) throw new UsageError("give the process id of a running jit");
        if (interval < TimeSpan.FromSeconds(0.1)) throw new UsageError("--interval must be at least 0.1 s");

        if (CheckTarget(target) is { } problem)
        {
            stderr.WriteLine($"jit top: {problem}");
            return CommandLine.ExitCodes.BadInput;
        }
        WaitPastStartup(target);
        MeterSession session;
        try
        {
            session = Attach(target, interval);
        }
        catch (ServerNotAvailableException)
        {
            stderr.WriteLine($"jit top: process {target} has no .NET diagnostics endpoint (is DOTNET_EnableDiagnostics=0 set for it?)");
            return CommandLine.ExitCodes.Failure;
        }
        catch (Exception e) when (e is UnsupportedCommandException or IOException or TimeoutException)
        {
            stderr.WriteLine($"jit top: cannot attach to process {target}: {e.Message}");
            return CommandLine.ExitCodes.Failure;
        }
        using (session)
            return Show(session, target, samples, interval, Console.Out, stderr);
    }

    /// <summary>
    /// Starts the EventPipe session, asking again when a request goes unanswered (each waits a bounded time):
    /// a process that has only just started, on a loaded machine, has been seen to leave the first unanswered.
    /// </summary>
    private static MeterSession Attach(int target, TimeSpan interval)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return new MeterSession(target, JitMeter.Name, interval);
            }
            catch (TimeoutException) when (attempt < AttachAttempts)
            {
            }
        }
    }

    private const int AttachAttempts = 3;

    // How long a process must have run before an EventPipe session may start in it: the runtime can deadlock a
    // process that a session reaches while it is still creating its own event sources (see EventSourceWarmup).
    private static readonly TimeSpan StartupWindow = TimeSpan.FromSeconds(2);

    private static void WaitPastStartup(int pid)
    {
        TimeSpan age;
        try
        {
            using var p = Process.GetProcessById(pid);
            age = DateTime.Now - p.StartTime;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return; // gone: attaching says so
        }
        if (age < StartupWindow) Thread.Sleep(StartupWindow - age);
    }

    /// <summary>Null when <paramref name="pid"/> is a live jit process; else why not.</summary>
    private static string? CheckTarget(int pid)
    {
        string name;
        try
        {
            using var p = Process.GetProcessById(pid);
            name = p.ProcessName;
        }
        catch (ArgumentException)
        {
            return $"no process with id {pid}";
        }
        // The apphost is named jit; `dotnet jit.dll` shows as dotnet with jit.dll on its command line.
        string commandLine = ReadCommandLine(pid);
        if (name != "jit" && !commandLine.Split('\0').Any(a => Path.GetFileName(a) == "jit.dll"))
            return $"process {pid} ({name}) is not a jit process";
        return null;
    }

    private static string ReadCommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static int Show(MeterSession session, int pid, int samples, TimeSpan interval, TextWriter stdout, TextWriter stderr)
    {
        bool redraw = samples == 0 && !Console.IsOutputRedirected;
        using var stop = new ManualResetEventSlim();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Set(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            var patience = Stopwatch.StartNew();
            int shown = 0;
            while (!stop.IsSet && (samples == 0 || shown < samples))
            {
                if (!session.TryNext(TimeSpan.FromMilliseconds(250), out var sample))
                {
                    if (session.Ended || session.Error is not null) break;
                    if (shown == 0 && patience.Elapsed > FirstSamplePatience) break;
                    continue;
                }
                if (!sample.Readings.Any(r => r.Instrument.StartsWith("jit.", StringComparison.Ordinal))) continue;
                shown++;
                if (redraw) stdout.Write("\u001b[H\u001b[2J");
                else if (shown > 1) stdout.WriteLine();
                stdout.Write(TopScreen.Render(pid, shown, sample));
                stdout.Flush();
            }
            if (stop.IsSet || (samples > 0 && shown >= samples)) return CommandLine.ExitCodes.Ok;
            if (session.Error is { } error)
                stderr.WriteLine($"jit top: process {pid}: {error}");
            else if (shown == 0)
                stderr.WriteLine($"jit top: process {pid} published no Jit counters within {FirstSamplePatience.TotalSeconds:0} s (is it running a guest?)");
            else
                stderr.WriteLine($"jit top: process {pid} ended");
            return samples == 0 && shown > 0 && session.Error is null ? CommandLine.ExitCodes.Ok : CommandLine.ExitCodes.Failure;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
