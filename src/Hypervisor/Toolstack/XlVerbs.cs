using System.Globalization;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Pci;

namespace Jit.Hypervisor.Toolstack;

/// <summary>
/// The toolstack's verbs as the running hypervisor executes them, with xl's output and exit conventions (0 on
/// success, 1 on failure, messages on stderr). <c>console</c> is served by the control server, since it turns
/// the connection into a byte stream.
/// </summary>
public sealed class XlVerbs(Host host, StateFolder state, HostLimits limits)
{
    public const string Usage = "jit xl create FILE [-c] [KEY=VALUE ...] | list [-l] [DOMAIN ...] | console DOMAIN | destroy DOMAIN | " +
                                "shutdown [-F] DOMAIN | reboot [-F] DOMAIN | pause DOMAIN | unpause DOMAIN | vcpu-list [DOMAIN] | info | dmesg | " +
                                "pci-assignable-add BDF | pci-assignable-remove [-r] BDF | pci-assignable-list | pci-attach DOMAIN BDF[@VSLOT] | " +
                                "pci-detach [-f] DOMAIN BDF | pci-list DOMAIN";

    public int Execute(string[] argv, string workingDirectory, TextWriter stdout, TextWriter stderr)
    {
        if (argv.Length == 0)
        {
            stderr.WriteLine($"usage: {Usage}");
            return 2;
        }
        string[] args = argv[1..];
        return argv[0] switch
        {
            "create" => Create(args, workingDirectory, stdout, stderr),
            "list" => List(args, stdout, stderr),
            "destroy" => Destroy(args, stderr),
            "shutdown" => Shutdown(args, stdout, stderr, reboot: false),
            "reboot" => Shutdown(args, stdout, stderr, reboot: true),
            "vcpu-list" => VcpuList(args, stdout, stderr),
            "pause" => Pause(args, stderr, pause: true),
            "unpause" => Pause(args, stderr, pause: false),
            "info" => Info(stdout),
            "dmesg" => Dmesg(stdout),
            "pci-assignable-add" => PciAssignableAdd(args, stderr),
            "pci-assignable-remove" => PciAssignableRemove(args, stderr),
            "pci-assignable-list" => PciAssignableList(args, stdout, stderr),
            "pci-attach" => PciAttach(args, stderr),
            "pci-detach" => PciDetach(args, stderr),
            "pci-list" => PciList(args, stdout, stderr),
            _ => Unknown(argv[0], stderr),
        };
    }

    private static int Unknown(string verb, TextWriter stderr)
    {
        stderr.WriteLine($"xl: unknown command '{verb}'");
        stderr.WriteLine($"usage: {Usage}");
        return 2;
    }

    private int Create(string[] args, string cwd, TextWriter stdout, TextWriter stderr)
    {
        string? file = null;
        var overrides = new List<string>();
        foreach (string a in args)
        {
            if (a is "-c") continue; // the client attaches after a successful create
            if (a.StartsWith('-'))
            {
                stderr.WriteLine($"xl create: unknown option {a}");
                return 2;
            }
            if (file is null && !a.Contains('=')) file = a;
            else overrides.Add(a);
        }
        if (file is null)
        {
            stderr.WriteLine("xl create: no configuration file given");
            return 2;
        }
        string path = Path.IsPathRooted(file) ? file : Path.Combine(cwd, file);
        try
        {
            var config = DomainConfigReader.Load(path, overrides, limits, cwd);
            foreach (string w in config.Warnings) stderr.WriteLine($"xl: warning: {w}");
            stderr.WriteLine($"Parsing config from {file}");
            var d = host.Create(config);
            stdout.WriteLine(d.DomId.ToString(CultureInfo.InvariantCulture));
            return 0;
        }
        catch (ConfigError e)
        {
            stderr.WriteLine(e.Message);
            return 1;
        }
        catch (Exception e) when (e is ImageError or InvalidOperationException or IOException or ArgumentException
            or Jit.Devices.Storage.DiskImageException or Jit.Devices.Network.NetworkBackendException)
        {
            stderr.WriteLine($"xl create: {file}: {e.Message}");
            return 1;
        }
    }

    private HostedDomain? Lookup(string name, TextWriter stderr)
    {
        var d = host.Find(name);
        if (d is null) stderr.WriteLine($"xl: domain '{name}' does not exist");
        return d;
    }

    /// <summary>The named domains, or every domain when none is named; null (and a line) when one does not exist.</summary>
    private List<HostedDomain>? Select(IEnumerable<string> names, TextWriter stderr)
    {
        var named = names.ToList();
        if (named.Count == 0) return [.. host.Domains];
        var shown = new List<HostedDomain>();
        foreach (string n in named)
        {
            if (Lookup(n, stderr) is not { } d) return null;
            shown.Add(d);
        }
        return shown;
    }

    /// <summary>xl list's table: name, domid, MiB, vCPUs, state flags and CPU seconds.</summary>
    private int List(string[] args, TextWriter stdout, TextWriter stderr)
    {
        bool json = args.Contains("-l") || args.Contains("--long");
        if (Select(args.Where(a => !a.StartsWith('-')), stderr) is not { } shown) return 1;
        if (json)
        {
            stdout.Write(XlListJson.Format(shown.Select(d => (d.DomId, d.Config))));
            return 0;
        }
        stdout.WriteLine("Name                                        ID   Mem VCPUs\tState\tTime(s)");
        foreach (var d in shown)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{d.Name,-40} {d.DomId,5} {d.Config.MemoryMiB,5} {d.Config.Vcpus,5}     {d.StateFlags} {CpuSeconds(d),8:F1}"));
        return 0;
    }

    private static double CpuSeconds(HostedDomain d) => d.Domain.Vcpus.Sum(v => ThreadCpuTime.Seconds(v.HostThreadId));

    private int Destroy(string[] args, TextWriter stderr)
    {
        if (args.Length != 1)
        {
            stderr.WriteLine("usage: xl destroy DOMAIN");
            return 2;
        }
        if (Lookup(args[0], stderr) is not { } d) return 1;
        host.Destroy(d);
        return 0;
    }

    /// <summary>
    /// A guest cannot hear a shutdown request yet (Xen's PV control path comes later): without -F xl's lines for
    /// a guest without PV drivers; with -F the domain is destroyed (shutdown) or rebuilt (reboot) at once.
    /// </summary>
    private int Shutdown(string[] args, TextWriter stdout, TextWriter stderr, bool reboot)
    {
        bool force = args.Contains("-F");
        var names = args.Where(a => a != "-F").ToList();
        string verb = reboot ? "reboot" : "shutdown";
        if (names.Count != 1)
        {
            stderr.WriteLine($"usage: xl {verb} [-F] DOMAIN");
            return 2;
        }
        if (Lookup(names[0], stderr) is not { } d) return 1;
        if (!force)
        {
            stderr.WriteLine($"{verb} failed (rc=-6)");
            stderr.WriteLine("PV control interface not available: external graceful shutdown not possible.");
            stderr.WriteLine("Use \"-F\" to fallback to ACPI power event.");
            return 1;
        }
        stdout.WriteLine($"{(reboot ? "Rebooting" : "Shutting down")} domain {d.DomId}");
        host.Destroy(d);
        if (reboot)
        {
            try
            {
                var again = host.Create(d.Config, control: d.DomId == Host.ControlDomainId);
                stdout.WriteLine($"{d.Name}: restarted as domain {again.DomId}");
            }
            catch (Exception e) when (e is ImageError or ConfigError or InvalidOperationException or IOException
                or Jit.Devices.Storage.DiskImageException or Jit.Devices.Network.NetworkBackendException)
            {
                stderr.WriteLine($"xl reboot: {d.Name}: {e.Message}");
                return 1;
            }
        }
        else stdout.WriteLine($"{d.Name}: destroyed (the guest has no PV shutdown path yet)");
        return 0;
    }

    private int Pause(string[] args, TextWriter stderr, bool pause)
    {
        if (args.Length != 1)
        {
            stderr.WriteLine($"usage: xl {(pause ? "pause" : "unpause")} DOMAIN");
            return 2;
        }
        if (Lookup(args[0], stderr) is not { } d) return 1;
        if (!host.Pause(d, pause))
        {
            stderr.WriteLine($"xl: domain '{args[0]}' is not running");
            return 1;
        }
        return 0;
    }

    private int VcpuList(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (Select(args, stderr) is not { } shown) return 1;
        stdout.WriteLine("Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)");
        foreach (var d in shown)
            foreach (var v in d.Domain.Vcpus)
            {
                string st = v.Power != Smccc.VcpuPowerState.On ? "---" : d.State == DomainState.Paused ? "-p-" : v.Blocked ? "-b-" : "r--";
                string affinity = d.Config.CpuAffinity is { } sets && v.Id < sets.Count ? sets[v.Id].ToString() : "all";
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{d.Name,-32} {d.DomId,5} {v.Id,5}   {"-",3}   {st,-3} {ThreadCpuTime.Seconds(v.HostThreadId),9:F1}  {affinity} / all"));
            }
        return 0;
    }

    private int Info(TextWriter stdout)
    {
        stdout.WriteLine($"host                   : {Environment.MachineName}");
        stdout.WriteLine($"nr_cpus                : {limits.HostCpus}");
        stdout.WriteLine($"total_memory           : {limits.AvailableMemoryMiB}");
        stdout.WriteLine($"xen_caps               : jit-aarch64");
        stdout.WriteLine($"max_vcpus_per_domain   : {limits.MaxVcpus}");
        stdout.WriteLine($"nr_domains             : {host.Domains.Count}");
        stdout.WriteLine($"state_folder           : {state.Path}");
        return 0;
    }

    // ---- PCI passthrough (xl(1) "PCI PASS-THROUGH") ----

    private static int Usage1(TextWriter stderr, string usage)
    {
        stderr.WriteLine($"usage: xl {usage}");
        return 2;
    }

    /// <summary>A BDF argument; null (and a line) when it is not one.</summary>
    private static PciAddress? Bdf(string text, string verb, TextWriter stderr)
    {
        if (PciAddress.TryParse(text, out var address, out string problem)) return address;
        stderr.WriteLine($"xl {verb}: {problem}");
        return null;
    }

    private static int Outcome(string? problem, string verb, TextWriter stderr)
    {
        if (problem is null) return 0;
        stderr.WriteLine($"xl {verb}: {problem}");
        return 1;
    }

    private HostedDomain? ControlDomain => host.Find(Host.ControlDomainId.ToString(CultureInfo.InvariantCulture));

    private int PciAssignableAdd(string[] args, TextWriter stderr)
    {
        if (args.Length != 1) return Usage1(stderr, "pci-assignable-add BDF");
        if (Bdf(args[0], "pci-assignable-add", stderr) is not { } bdf) return 1;
        return Outcome(host.PciDevices.MakeAssignable(bdf, stderr), "pci-assignable-add", stderr);
    }

    /// <summary>Back to the control domain, which finds it when it rescans its bus (-r: xl's "rebind", the same here).</summary>
    private int PciAssignableRemove(string[] args, TextWriter stderr)
    {
        var rest = args.Where(a => a != "-r").ToArray();
        if (rest.Length != 1) return Usage1(stderr, "pci-assignable-remove [-r] BDF");
        if (Bdf(rest[0], "pci-assignable-remove", stderr) is not { } bdf) return 1;
        if (host.PciDevices.Find(bdf) is { Owner: not null } owned)
            return Outcome($"{bdf} is not assignable (it is assigned to domain {owned.Owner.DomId})", "pci-assignable-remove", stderr);
        if (ControlDomain is not { } dom0) return Outcome("there is no control domain to give it back to", "pci-assignable-remove", stderr);
        return Outcome(host.PciDevices.Assign(dom0, bdf), "pci-assignable-remove", stderr);
    }

    /// <summary>One BDF a line, as xl prints them.</summary>
    private int PciAssignableList(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length != 0) return Usage1(stderr, "pci-assignable-list");
        foreach (var d in host.PciDevices.Assignable) stdout.WriteLine(d.Address.ToString());
        return 0;
    }

    private int PciAttach(string[] args, TextWriter stderr)
    {
        if (args.Length != 2) return Usage1(stderr, "pci-attach DOMAIN BDF[@VSLOT][,seize=1]");
        if (Lookup(args[0], stderr) is not { } d) return 1;
        if (!XlPciSpec.TryParse(args[1], ConfigOrigin.CommandLine, out var spec, out string problem))
            return Outcome(problem, "pci-attach", stderr);
        return Outcome(host.PciDevices.Assign(d, spec.Address, spec.VirtualSlot, spec.Seize, ControlDomain, stderr), "pci-attach", stderr);
    }

    /// <summary>The guest should have removed the device first; -f (xl's force) changes nothing, since the device is taken either way.</summary>
    private int PciDetach(string[] args, TextWriter stderr)
    {
        var rest = args.Where(a => a != "-f").ToArray();
        if (rest.Length != 2) return Usage1(stderr, "pci-detach [-f] DOMAIN BDF");
        if (Lookup(rest[0], stderr) is not { } d) return 1;
        if (Bdf(rest[1], "pci-detach", stderr) is not { } bdf) return 1;
        return Outcome(host.PciDevices.Detach(d, bdf, stderr), "pci-detach", stderr);
    }

    /// <summary>xl's table: the virtual slot.function the domain sees, and the host BDF.</summary>
    private int PciList(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length != 1) return Usage1(stderr, "pci-list DOMAIN");
        if (Lookup(args[0], stderr) is not { } d) return 1;
        var owned = host.PciDevices.AssignedTo(d);
        if (owned.Count > 0) stdout.WriteLine("Vdev Device");
        foreach (var device in owned)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{device.VirtualSlot:x2}.0 {device.Address}"));
        return 0;
    }

    private int Dmesg(TextWriter stdout)
    {
        try
        {
            using var f = new FileStream(state.Log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var r = new StreamReader(f);
            stdout.Write(r.ReadToEnd());
        }
        catch (FileNotFoundException) { }
        return 0;
    }
}
