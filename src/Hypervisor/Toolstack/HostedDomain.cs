using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Consoles;
using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Toolstack;

/// <summary>What a domain the host runs is doing, as xl's State column tells it.</summary>
public enum DomainState
{
    Running,
    Paused,
    /// <summary>It shut down (powered off or asked for a reboot) and is kept: the action said preserve.</summary>
    Shutdown,
    /// <summary>Its kernel panicked or the hypervisor stopped it for an error of its own making, and it is kept.</summary>
    Crashed,
    /// <summary>Being destroyed.</summary>
    Dying,
}

/// <summary>
/// A domain the host runs: its configuration, the built machine, its console, and the thread that runs it and
/// acts on how it ends (on_poweroff, on_reboot, on_crash).
/// </summary>
public sealed class HostedDomain
{
    internal HostedDomain(DomainConfig config, Machine machine, DomainConsole console)
    {
        Config = config;
        Machine = machine;
        Console = console;
        Created = DateTime.UtcNow;
    }

    public DomainConfig Config { get; }
    public Machine Machine { get; }
    public Domain Domain => Machine.Domain;
    public int DomId => Domain.DomId;
    public string Name => Domain.Name;
    public DomainConsole Console { get; }
    public DateTime Created { get; }

    private volatile int state = (int)DomainState.Running;
    public DomainState State
    {
        get => (DomainState)state;
        internal set => state = (int)value;
    }

    /// <summary>Why it crashed, when it did: the panic line or the emulator's error.</summary>
    public string? CrashReason { get; internal set; }

    internal Thread? Runner { get; set; }

    /// <summary>
    /// xl's six state flags: r(unning), b(locked), p(aused), s(hutdown), c(rashed), d(ying). A running domain
    /// whose every vCPU waits in WFI is blocked.
    /// </summary>
    public string StateFlags
    {
        get
        {
            var s = State;
            bool blocked = s == DomainState.Running && Domain.Vcpus.All(v => v.Blocked || v.Power == VcpuPowerState.Off);
            return new string([
                s == DomainState.Running && !blocked ? 'r' : '-',
                blocked ? 'b' : '-',
                s == DomainState.Paused ? 'p' : '-',
                s == DomainState.Shutdown ? 's' : '-',
                s == DomainState.Crashed ? 'c' : '-',
                s == DomainState.Dying ? 'd' : '-',
            ]);
        }
    }
}
