using Jit.Hypervisor.Smccc;
using Jit.Runtime;
using Jit.Runtime.Memory;

namespace Jit.Hypervisor;

/// <summary>
/// A guest machine: its RAM, the MMIO map of its virtual devices, its vCPUs and the SMCCC services it may call.
/// The domain builder fills it; <see cref="Run"/> executes it until it shuts down or is stopped.
/// </summary>
public sealed unsafe class Domain : IPsciPlatform, IDisposable
{
    private readonly List<Vcpu> vcpus = [];
    private int shutdown = -1;

    public Domain(string name)
    {
        Name = name;
        Smccc = new SmcccDispatcher();
        Smccc.Route(SmcccOwner.ArmArchitecture, new ArchCalls());
        Smccc.RoutePsci(new Psci(this));
    }

    public string Name { get; }
    public PhysicalMemory Memory { get; } = new();
    public MmioMap Mmio { get; } = new();
    public SmcccDispatcher Smccc { get; }
    public IReadOnlyList<Vcpu> Vcpus => vcpus;

    /// <summary>Set once, by the first shutdown request; null while the domain may still run.</summary>
    public ShutdownReason? ShutdownRequest => shutdown < 0 ? null : (ShutdownReason)shutdown;

    public Vcpu AddVcpu()
    {
        var v = new Vcpu(this, vcpus.Count);
        vcpus.Add(v);
        return v;
    }

    /// <summary>
    /// Runs the domain on the calling thread until it shuts down, is stopped, or has retired
    /// <paramref name="maxInstructions"/>. Only vCPU 0 is scheduled for now.
    /// </summary>
    public VcpuExit Run(ulong maxInstructions = ulong.MaxValue)
    {
        if (vcpus.Count == 0) throw new InvalidOperationException($"domain {Name} has no vCPU");
        if (vcpus.Count > 1)
            Log.Once("smp", $"domain {Name}: only vCPU 0 is scheduled; {vcpus.Count - 1} secondary vCPUs stay off");
        return vcpus[0].Run(maxInstructions);
    }

    /// <summary>Asks every vCPU to leave its run loop; safe from any thread, including a signal handler.</summary>
    public void Stop()
    {
        foreach (var v in vcpus) v.RequestExit(ExitRequests.Stop);
    }

    public void Shutdown(ShutdownReason reason)
    {
        if (Interlocked.CompareExchange(ref shutdown, (int)reason, -1) != -1) return;
        foreach (var v in vcpus) v.RequestExit(ExitRequests.Halt);
    }

    int IPsciPlatform.FindVcpu(ulong affinity)
    {
        foreach (var v in vcpus)
            if ((v.Mpidr & Psci.AffinityMask) == affinity) return v.Id;
        return -1;
    }

    VcpuPowerState IPsciPlatform.PowerState(int vcpu) => vcpus[vcpu].Power;

    long IPsciPlatform.CpuOn(int vcpu, ulong entry, ulong context)
    {
        // Reachable only with secondary vCPUs, which nothing schedules yet: refuse rather than leave the
        // guest waiting for a CPU that never starts.
        Log.Once("psci-cpu-on", $"domain {Name}: PSCI CPU_ON of vCPU {vcpu} refused: secondary vCPUs are not scheduled yet");
        return Psci.InternalFailure;
    }

    void IPsciPlatform.CpuOff(int vcpu)
    {
        vcpus[vcpu].PowerOff();
        foreach (var v in vcpus)
            if (v.Power != VcpuPowerState.Off) return;
        Shutdown(ShutdownReason.AllVcpusOff);
    }

    public void Dispose()
    {
        foreach (var v in vcpus) v.Dispose();
        vcpus.Clear();
        Memory.Dispose();
    }
}
