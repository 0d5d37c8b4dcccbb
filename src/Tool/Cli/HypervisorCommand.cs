using System.Diagnostics;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Toolstack;
using Jit.Runtime;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>
/// <c>jit hypervisor start [--dom0 FILE] | stop | status | serve [--dom0 FILE]</c>: the hypervisor process the
/// toolstack talks to. <c>start</c> runs <c>serve</c> in the background (its own session, its output in the
/// state folder's hypervisor.log, which <c>xl dmesg</c> prints); <c>serve</c> runs it in the foreground.
/// </summary>
internal static class HypervisorCommand
{
    public const string Usage = "jit hypervisor start [--dom0 FILE] | stop | status | serve [--dom0 FILE]";

    public static int Execute(string[] args, TextWriter stderr)
    {
        var state = StateFolder.Default();
        string? dom0 = null;
        if (args.Length >= 3 && args[1] == "--dom0") dom0 = args[2];
        else if (args.Length != 1) throw new UsageError("expected start, stop, status or serve");
        switch (args[0])
        {
            case "start":
                if (ControlClient.Request(state, ["status"]) is { } running)
                {
                    stderr.Write($"jit hypervisor: already {running.Stdout}");
                    return CommandLine.ExitCodes.Ok;
                }
                return Start(state, dom0, stderr) is int pid
                    ? Said(stderr, $"jit hypervisor: started, pid {pid}, state folder {state.Path}", CommandLine.ExitCodes.Ok)
                    : CommandLine.ExitCodes.Failure;
            case "stop":
                if (ControlClient.Request(state, ["stop"]) is null) return Said(stderr, "jit hypervisor: none is running", CommandLine.ExitCodes.Failure);
                return Said(stderr, "jit hypervisor: stopped", CommandLine.ExitCodes.Ok);
            case "status":
                if (ControlClient.Request(state, ["status"]) is not { } status) return Said(stderr, "jit hypervisor: none is running", 3);
                System.Console.Out.Write(status.Stdout);
                return CommandLine.ExitCodes.Ok;
            case "serve":
                return Serve(state, dom0, stderr);
            default:
                throw new UsageError($"unknown action '{args[0]}'");
        }
    }

    private static int Said(TextWriter w, string line, int code)
    {
        w.WriteLine(line);
        return code;
    }

    public static HostLimits Limits() =>
        new(VcpuTopology.MaxVcpus, Environment.ProcessorCount, (ulong)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 20);

    /// <summary>Starts <c>jit hypervisor serve</c> in the background and waits until its socket answers.</summary>
    public static int? Start(StateFolder state, string? dom0, TextWriter stderr)
    {
        state.Create();
        string self = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo(File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : self)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (psi.FileName != self) psi.ArgumentList.Add(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(HypervisorCommand).Assembly.Location);
        foreach (string a in (string[])["hypervisor", "serve", .. dom0 is null ? [] : new[] { "--dom0", Path.GetFullPath(dom0) }]) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi);
        if (p is null)
        {
            stderr.WriteLine("jit hypervisor: cannot start the hypervisor process");
            return null;
        }
        p.StandardInput.Close();
        for (int i = 0; i < 200; i++)
        {
            if (ControlClient.Request(state, ["status"]) is not null) return p.Id;
            if (p.HasExited)
            {
                stderr.Write(p.StandardError.ReadToEnd());
                stderr.WriteLine($"jit hypervisor: it exited with {p.ExitCode}; see {state.Log}");
                return null;
            }
            Thread.Sleep(50);
        }
        stderr.WriteLine($"jit hypervisor: it did not answer on {state.Socket} within 10 s; see {state.Log}");
        return null;
    }

    private static int Serve(StateFolder state, string? dom0, TextWriter stderr)
    {
        state.Create();
        // The hypervisor's own log is what xl dmesg prints: its lines and everything logged on its threads.
        using var log = new StreamWriter(new FileStream(state.Log, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var logged = TextWriter.Synchronized(log);
        System.Console.SetError(logged);
        System.Console.SetOut(logged);
        File.WriteAllText(state.PidFile, Environment.ProcessId + "\n");
        using var host = new Host(state.ConsoleFolder);
        host.Logged += line => logged.WriteLine($"({DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}) {line}");
        logged.WriteLine($"({DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}) hypervisor started, pid {Environment.ProcessId}");
        if (dom0 is not null)
        {
            try
            {
                var config = DomainConfigReader.Load(dom0, [], Limits()) with { Name = "Domain-0" };
                host.Create(config, control: true);
            }
            catch (Exception e) when (e is ConfigError or Jit.Hypervisor.Builder.ImageError or IOException or InvalidOperationException)
            {
                logged.WriteLine($"dom0: {e.Message}");
                stderr.WriteLine($"jit hypervisor: --dom0 {dom0}: {e.Message}");
                return CommandLine.ExitCodes.BadInput;
            }
        }
        using var server = new ControlServer(host, state, Limits());
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            server.Dispose();
        });
        server.Serve();
        logged.WriteLine($"({DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}) hypervisor stopping: destroying {host.Domains.Count} domain(s)");
        File.Delete(state.PidFile);
        return CommandLine.ExitCodes.Ok;
    }
}
