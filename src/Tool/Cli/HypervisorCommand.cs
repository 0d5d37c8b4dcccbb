using System.Diagnostics;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Toolstack;
using Jit.Runtime;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>
/// <c>jit hypervisor start [--dom0 FILE] [--pci-device disk=SPEC]… | stop | status | serve [same options]</c>: the
/// hypervisor process the toolstack talks to. <c>start</c> runs <c>serve</c> in the background (its own session,
/// its output in the state folder's hypervisor.log, which <c>xl dmesg</c> prints); <c>serve</c> runs it in the
/// foreground. Each <c>--pci-device</c> is a host PCI device at 0000:01:00.0, 0000:01:01.0, … in the order given,
/// the control domain's when there is one, assignable otherwise.
/// </summary>
internal static class HypervisorCommand
{
    public const string Usage = "jit hypervisor start [--dom0 FILE] [--pci-device disk=" + LinuxDisk.Syntax + "]… | stop | status | serve [same options]";

    /// <summary>What <c>start</c> and <c>serve</c> are given.</summary>
    private sealed record ServeOptions(string? Dom0, IReadOnlyList<LinuxDisk> PciDevices);

    public static int Execute(string[] args, TextWriter stderr)
    {
        var state = StateFolder.Default();
        if (args.Length == 0) throw new UsageError("expected start, stop, status or serve");
        if (args[0] is "stop" or "status" && args.Length != 1) throw new UsageError($"{args[0]} takes no options");
        var options = Parse(args[1..]);
        string? dom0 = options.Dom0;
        switch (args[0])
        {
            case "start":
                if (ControlClient.Request(state, ["status"]) is { } running)
                {
                    stderr.Write($"jit hypervisor: already {running.Stdout}");
                    if (dom0 is null && options.PciDevices.Count == 0) return CommandLine.ExitCodes.Ok;
                    // What was asked for (a control domain, host devices) is a running hypervisor's own already.
                    stderr.WriteLine("jit hypervisor: --dom0 and --pci-device apply to a hypervisor as it starts; stop this one first");
                    return CommandLine.ExitCodes.Failure;
                }
                return Start(state, dom0, stderr, options.PciDevices) is int pid
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
                return Serve(state, options, stderr);
            default:
                throw new UsageError($"unknown action '{args[0]}'");
        }
    }

    private static ServeOptions Parse(string[] args)
    {
        string? dom0 = null;
        var devices = new List<LinuxDisk>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--dom0": dom0 = Options.Value(args, ref i); break;
                case "--pci-device": devices.Add(PciDevice(Options.Value(args, ref i))); break;
                default: throw new UsageError($"unknown option '{args[i]}'");
            }
        }
        return new ServeOptions(dom0, devices);
    }

    /// <summary><c>disk=</c> followed by <see cref="LinuxDisk.Syntax"/>: the only kind of host device there is.</summary>
    private static LinuxDisk PciDevice(string text)
    {
        if (!text.StartsWith("disk=", StringComparison.Ordinal))
            throw new UsageError($"--pci-device '{text}': expected disk={LinuxDisk.Syntax}");
        if (!LinuxDisk.TryParse(text["disk=".Length..], out var disk, out string problem)) throw new UsageError($"--pci-device '{text}': {problem}");
        return disk;
    }

    private static int Said(TextWriter w, string line, int code)
    {
        w.WriteLine(line);
        return code;
    }

    public static HostLimits Limits() =>
        new(VcpuTopology.MaxVcpus, Environment.ProcessorCount, (ulong)GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 20);

    /// <summary>Starts <c>jit hypervisor serve</c> in the background and waits until its socket answers.</summary>
    public static int? Start(StateFolder state, string? dom0, TextWriter stderr, IReadOnlyList<LinuxDisk>? pciDevices = null)
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
        foreach (var d in pciDevices ?? [])
        {
            psi.ArgumentList.Add("--pci-device");
            psi.ArgumentList.Add($"disk={Path.GetFullPath(d.Path)}{(d.ReadOnly ? ",ro" : "")},format={d.Format.ToString().ToLowerInvariant()}" +
                $",if={d.Interface.ToString().ToLowerInvariant()}");
        }
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

    private static int Serve(StateFolder state, ServeOptions options, TextWriter stderr)
    {
        string? dom0 = options.Dom0;
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
        foreach (var disk in options.PciDevices)
        {
            try
            {
                var device = host.PciDevices.Add(disk);
                logged.WriteLine($"({DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}) PCI device {device.Address}: {device.Function.Name} on {disk.Path}");
            }
            catch (Exception e) when (e is Jit.Devices.Storage.DiskImageException or IOException or InvalidOperationException)
            {
                logged.WriteLine($"--pci-device disk={disk.Path}: {e.Message}");
                stderr.WriteLine($"jit hypervisor: --pci-device disk={disk.Path}: {e.Message}");
                return CommandLine.ExitCodes.BadInput;
            }
        }
        if (dom0 is not null)
        {
            try
            {
                var config = DomainConfigReader.Load(dom0, [], Limits()) with { Name = "Domain-0" };
                host.Create(config, control: true, allHostPciDevices: true);
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
