using System.Diagnostics;
using Jit.Hypervisor.Builder;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>
/// <c>jit boot</c>: the default guest. Fetches Debian's arm64 cloud kernel and busybox through the project's
/// scripts when they are not cached yet, builds the shell initramfs, and boots it with an interactive console.
/// </summary>
internal static class BootCommand
{
    public const string Usage = "jit boot [--smp N] [--mem SIZE] [--append \"…\"] [--timeout SECONDS] [--icount[=SHIFT]] [--trace KINDS] [--stats] [--stats-json FILE]";

    public static int Execute(string[] args, TextWriter stderr)
    {
        string append = "console=ttyAMA0";
        ulong? mem = null;
        int smp = 1;
        TimeSpan? timeout = null;
        (Jit.Hypervisor.Tracing.TraceKinds, string?)? trace = null;
        int? icount = null;
        var stats = new StatsOutput(false, null);
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help":
                    System.Console.Out.WriteLine($"usage: {Usage}");
                    System.Console.Out.WriteLine("Boots Debian's arm64 kernel with a busybox shell (fetched and built on first use; Ctrl-A X quits).");
                    System.Console.Out.WriteLine("--stats and --stats-json FILE report the run's statistics at the end, as for jit run (jit run --help).");
                    System.Console.Out.WriteLine("--icount[=SHIFT] runs in instruction-count time, as `jit run --help` describes.");
                    return CommandLine.ExitCodes.Ok;
                case "--append": append = Options.Value(args, ref i); break;
                case "--smp": smp = (int)Options.Count("--smp", Options.Value(args, ref i)); break;
                case "--mem": mem = Options.Size("--mem", Options.Value(args, ref i)); break;
                case "--timeout": timeout = Options.Seconds("--timeout", Options.Value(args, ref i)); break;
                case "--trace": trace = Options.Trace(Options.Value(args, ref i)); break;
                case var a when Options.Icount(a) is int shift: icount = shift; break;
                case "--stats": stats = stats with { Table = true }; break;
                case "--stats-json": stats = stats with { JsonFile = Options.Value(args, ref i) }; break;
                default: throw new UsageError($"unknown option {args[i]}");
            }
        }
        Options.CheckIcountSmp(icount, smp);
        string root = RepositoryRoot() ?? throw new UsageError("cannot find the Jit repository (its scripts fetch the guest); run ./jit from a checkout");
        string? kernel = Script(root, stderr, "scripts/fetch-arm64.sh", "kernel");
        string cache = Environment.GetEnvironmentVariable("JIT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "jit");
        string initrd = Path.Combine(cache, "initramfs-shell.cpio.gz");
        string? built = kernel is null ? null : Script(root, stderr, "guests/initramfs/build.sh", "shell", initrd);
        if (kernel is null || built is null) return CommandLine.ExitCodes.Failure;
        var options = RunCommand.Linux(kernel, initrd, append, mem, smp, icount: icount);
        return RunCommand.RunMachine(console => LinuxMachine.Create(options, console), withInput: true, timeout, ulong.MaxValue, stderr, trace, stats: stats);
    }

    /// <summary>The checkout holding this build: JIT_HOME (set by ./jit), else the first parent with Jit.sln.</summary>
    internal static string? RepositoryRoot()
    {
        string? home = Environment.GetEnvironmentVariable("JIT_HOME");
        if (home is not null && File.Exists(Path.Combine(home, "Jit.sln"))) return home;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Jit.sln"))) return d.FullName;
        return null;
    }

    /// <summary>Runs a project script; returns the last line it printed (a path), or null after reporting the failure.</summary>
    internal static string? Script(string root, TextWriter stderr, string script, params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(root, script)) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi);
        if (p is null) { stderr.WriteLine($"jit: cannot start {script}"); return null; }
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) { stderr.WriteLine($"jit: {script} {string.Join(' ', args)} failed (exit {p.ExitCode})"); return null; }
        return output.Trim().Split('\n').LastOrDefault();
    }
}
