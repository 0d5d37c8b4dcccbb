using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Consoles;
using Jit.Hypervisor.Smccc;
using Jit.Hypervisor.Toolstack;
using Jit.SecureWorld;

namespace Jit.Hypervisor;

/// <summary>
/// The hypervisor: the domains it runs, by domid, and the services they share (the console service's folder
/// today). It creates a domain from its configuration, runs it on its own threads, acts on how it ends as its
/// configuration says (destroy, restart, preserve), and destroys it on request: stopping its vCPU threads and
/// freeing its memory. Its domains share one modelled secure world (<see cref="SecureWorld"/>), reached only by
/// the SMCs the hypervisor forwards for them. Domid 0 is the control domain; <c>xl create</c> gets domids from 1, never reused while
/// the host runs, as Xen's are not until they wrap.
/// </summary>
public sealed class Host : IDisposable
{
    public const int ControlDomainId = 0;
    /// <summary>Xen's first reserved domid (DOMID_FIRST_RESERVED): ordinary domids stay below it.</summary>
    public const int FirstReservedDomId = 0x7FF0;

    private readonly object gate = new();
    private readonly SortedDictionary<int, HostedDomain> domains = [];
    private int nextDomId = 1;
    private bool disposed;

    /// <param name="consoleFolder">Where each domain's console log goes (guest-NAME.log).</param>
    public Host(string consoleFolder)
    {
        ConsoleFolder = consoleFolder;
    }

    public string ConsoleFolder { get; }

    /// <summary>
    /// The machine under the hypervisor: one machine address space, where every domain's RAM gets frames of its own
    /// when it is built, and one secure world (a machine has one EL3) behind every domain's forwarded SMCs.
    /// </summary>
    public HostMachine HostMachine { get; } = new(EntropySources.Host);

    /// <summary>The secure monitor behind every domain's forwarded SMCs.</summary>
    public SecureMonitor SecureWorld => HostMachine.SecureWorld;

    /// <summary>The host's PCI devices that can be assigned (<c>jit hypervisor start --pci-device</c>), and who owns each.</summary>
    public Pci.HostPciDevices PciDevices { get; } = new();

    /// <summary>The software switches the domains' vifs join (xl's <c>bridge=</c>), shared by all of them.</summary>
    public Network.NetworkFabric Networks { get; } = new();

    /// <summary>The hypervisor's own log (xl dmesg): domain lifecycle lines.</summary>
    public event Action<string>? Logged;

    /// <summary>Raised after a domain was built, before it runs; services that keep per-domain state start it here.</summary>
    public event Action<HostedDomain>? DomainCreated;

    /// <summary>Raised after a domain's threads have left, before its memory is freed.</summary>
    public event Action<HostedDomain>? DomainDestroyed;

    public IReadOnlyList<HostedDomain> Domains
    {
        get { lock (gate) return [.. domains.Values]; }
    }

    /// <summary>A domain by name or by domid, as xl's DOMAIN argument.</summary>
    public HostedDomain? Find(string nameOrDomId)
    {
        lock (gate)
        {
            if (int.TryParse(nameOrDomId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
                return domains.GetValueOrDefault(id);
            return domains.Values.FirstOrDefault(d => d.Name == nameOrDomId);
        }
    }

    /// <summary>
    /// Builds and starts a domain. <paramref name="control"/> makes it domid 0; <paramref name="allHostPciDevices"/>
    /// gives it every assignable host PCI device before it runs, as the hypervisor gives its control domain at
    /// start. Raises <see cref="ImageError"/> for a bad image, <see cref="InvalidOperationException"/> when the
    /// name or domid 0 is taken, and <see cref="ConfigError"/> naming the file and <c>pci</c> when a device its
    /// configuration lists cannot be assigned.
    /// </summary>
    public HostedDomain Create(DomainConfig config, bool control = false, bool allHostPciDevices = false)
    {
        int domid;
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (domains.Values.Any(d => d.Name == config.Name))
                throw new InvalidOperationException($"domain with name \"{config.Name}\" already exists");
            if (control && domains.ContainsKey(ControlDomainId))
                throw new InvalidOperationException("the control domain (domid 0) already exists");
            if (!control && nextDomId >= FirstReservedDomId) throw new InvalidOperationException("no free domid left");
            domid = control ? ControlDomainId : nextDomId++;
        }
        var console = new DomainConsole(Path.Combine(ConsoleFolder, $"guest-{config.Name}.log"));
        // The UART's bytes pass a panic watch on their way: a kernel panic is a crash, and the panic loop would
        // otherwise spin for ever.
        var watched = new ConsoleBackend.ConsoleOutput(console);
        HostedDomain? built = null;
        watched.Panicked += line =>
        {
            if (built is null) return;
            built.CrashReason ??= line;
            built.Domain.Stop();
        };
        Machine machine;
        try
        {
            machine = DomainBuilder.Build(config, domid, watched, Networks);
        }
        catch
        {
            console.Dispose();
            throw;
        }
        try
        {
            // Its RAM gets machine frames of its own, and its TEE (tee) learns of it before any vCPU runs.
            machine.Domain.HostMachine = HostMachine;
            _ = machine.Domain.MachineRam;
            machine.Domain.AttachTee(config.Tee);
        }
        catch (Exception e)
        {
            machine.Dispose();
            console.Dispose();
            if (e is NotSupportedException) throw new InvalidOperationException(e.Message, e);
            throw;
        }
        console.Uart = machine.Uart;
        if (config.CpuAffinity is { } affinity) machine.Domain.VcpuAffinity = [.. affinity.Select(set => set.Cpus)];
        var hosted = built = new HostedDomain(config, machine, console);
        try
        {
            AssignPciDevices(hosted, allHostPciDevices);
        }
        catch
        {
            PciDevices.ReleaseAll(hosted);
            machine.Dispose();
            console.Dispose();
            throw;
        }
        lock (gate) domains[domid] = hosted;
        DomainCreated?.Invoke(hosted);
        var runner = new Thread(() => RunDomain(hosted)) { IsBackground = true, Name = $"d{domid} runner" };
        hosted.Runner = runner;
        Logged?.Invoke($"d{domid} ({config.Name}): created, {config.Vcpus} vCPU(s), {config.MemoryMiB} MiB");
        runner.Start();
        return hosted;
    }

    /// <summary>Its configuration's <c>pci</c> devices (and, for the starting control domain, every assignable one), before any vCPU runs.</summary>
    private void AssignPciDevices(HostedDomain d, bool all)
    {
        var control = Find(ControlDomainId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var seized = new StringWriter();
        foreach (var spec in d.Config.Pci)
            if (PciDevices.Assign(d, spec.Address, spec.VirtualSlot, spec.Seize, control, seized) is { } problem)
                throw new ConfigError(spec.Origin, "pci", problem);
        foreach (string line in seized.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            Logged?.Invoke($"d{d.DomId} ({d.Name}): {line}");
        if (!all) return;
        foreach (var device in PciDevices.Assignable)
            if (PciDevices.Assign(d, device.Address) is { } problem)
                throw new InvalidOperationException($"host PCI device {device.Address}: {problem}");
    }

    private void RunDomain(HostedDomain d)
    {
        RunResult result;
        string? error = null;
        try
        {
            result = d.Machine.Run();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An emulator error made by this domain's guest stops the domain, never the host.
            error = $"{e.GetType().Name}: {e.Message}";
            result = default;
        }
        d.Console.Flush();
        if (d.State == DomainState.Dying) return;
        ShutdownAction action;
        string what;
        if (error is not null || d.CrashReason is not null)
        {
            d.CrashReason ??= error;
            action = d.Config.OnCrash;
            what = $"crashed: {d.CrashReason}";
        }
        else if (result.End == RunEnd.Reset)
        {
            action = d.Config.OnReboot;
            what = "rebooted";
        }
        else if (result.End is RunEnd.PowerOff or RunEnd.AllVcpusOff)
        {
            action = d.Config.OnPoweroff;
            what = "powered off";
        }
        else return; // stopped by the toolstack
        Logged?.Invoke($"d{d.DomId} ({d.Name}): {what}; {ActionName(action)}");
        switch (action)
        {
            case ShutdownAction.Preserve:
                d.State = d.CrashReason is not null ? DomainState.Crashed : DomainState.Shutdown;
                break;
            case ShutdownAction.Restart:
                Remove(d);
                try
                {
                    Create(d.Config);
                }
                catch (Exception e) when (e is ImageError or ConfigError or InvalidOperationException or IOException)
                {
                    Logged?.Invoke($"{d.Name}: restart failed: {e.Message}");
                }
                break;
            default:
                Remove(d);
                break;
        }
    }

    private static string ActionName(ShutdownAction a) => a switch
    {
        ShutdownAction.Preserve => "preserved",
        ShutdownAction.Restart => "restarting",
        _ => "destroyed",
    };

    /// <summary>xl pause / unpause; false when the domain is not running or paused (shut down, crashed, dying).</summary>
    public bool Pause(HostedDomain d, bool pause)
    {
        lock (gate)
        {
            if (d.State is not (DomainState.Running or DomainState.Paused)) return false;
            d.State = pause ? DomainState.Paused : DomainState.Running;
        }
        if (pause) d.Domain.Pause();
        else d.Domain.Unpause();
        Logged?.Invoke($"d{d.DomId} ({d.Name}): {(pause ? "paused" : "unpaused")}");
        return true;
    }

    /// <summary>Stops a domain's vCPUs, waits for its threads, and frees it. False when it is already going.</summary>
    public bool Destroy(HostedDomain d)
    {
        lock (gate)
        {
            if (d.State == DomainState.Dying || !domains.ContainsKey(d.DomId) || domains[d.DomId] != d) return false;
            d.State = DomainState.Dying;
        }
        d.Machine.Interrupt();
        if (d.Runner is { } t && t != Thread.CurrentThread) t.Join();
        Remove(d);
        Logged?.Invoke($"d{d.DomId} ({d.Name}): destroyed");
        return true;
    }

    private void Remove(HostedDomain d)
    {
        lock (gate)
        {
            if (domains.GetValueOrDefault(d.DomId) != d) return;
            domains.Remove(d.DomId);
        }
        // Off its bridge and reset before its memory goes: no DMA of the device can reach the freed RAM.
        PciDevices.ReleaseAll(d);
        DomainDestroyed?.Invoke(d);
        d.Machine.Dispose();
        d.Console.Dispose();
        // Its RAM and TLBs are native and gone now; its translations, block caches and p2m tables are managed
        // and would linger until the next full collection, which a quiet host may not run for a long time. An
        // aggressive, compacting one also gives the freed heap back to the system, so the host's footprint comes
        // back to what it was instead of wandering with whatever the collector kept committed.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    public void Dispose()
    {
        lock (gate) disposed = true;
        foreach (var d in Domains) Destroy(d);
        PciDevices.Dispose();
        Networks.Dispose();
    }
}
