using Jit.Hypervisor.Config;
using Jit.Hypervisor.Memory;
using Jit.Hypervisor.Smccc;
using Jit.Hypervisor.Tee;
using Jit.Hypervisor.Xen;
using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Runtime.Timers;
using Jit.SecureWorld;

namespace Jit.Hypervisor;

/// <summary>
/// A guest machine: its RAM, the MMIO map of its virtual devices, its vCPUs and the SMCCC services it may call.
/// The domain builder fills it; <see cref="Run"/> executes it until it shuts down or is stopped.
/// </summary>
public sealed unsafe class Domain : IPsciPlatform, IDisposable
{
    private readonly List<Vcpu> vcpus = [];
    private int shutdown = -1;

    /// <param name="counter">
    /// The system counter its vCPUs read and time their timers by: the host's clock by default, or an
    /// <see cref="InstructionCounter"/> for reproducible runs, which allows only one vCPU.
    /// </param>
    /// <param name="domid">Its domain ID: 0 for the control domain (and the single domain of <c>jit run</c>).</param>
    public Domain(string name, SystemCounter? counter = null, int domid = 0)
    {
        Name = name;
        DomId = domid;
        Counter = counter ?? SystemCounter.Host;
        // The defaults for its domid; the domain builder replaces them with the configuration's.
        Smccc = new SmcccDispatcher { Policy = SmcccPolicy.Create(controlDomain: domid == 0, tee: false) };
        Smccc.Route(SmcccOwner.ArmArchitecture, new ArchCalls());
        Smccc.RoutePsci(new Psci(this));
        Smccc.Route(SmcccOwner.StandardHypervisor, HypervisorService.Standard());
        Smccc.Route(SmcccOwner.VendorHypervisor, HypervisorService.Vendor());
        // Instruction-count time must give the same run every time, random numbers included.
        Smccc.RouteTrng(new Trng(Counter is InstructionCounter ? InstructionCountTrngSeed : null));
        Smccc.Route(SmcccOwner.SiP, new SipForwarder(() => SecureWorld));
        Hypercalls = new Hypercalls(this);
        GuestMemory = new GuestMemory(Memory);
        // A p2m change is a new VMID generation: every vCPU drops its TLB before its next block.
        Memory.P2m.Changed += () =>
        {
            foreach (var v in vcpus)
            {
                v.Processor.RemoteTlbInvalidations.Enqueue(new TlbInvalidation(TlbInvalidationScope.All, 0));
                v.RequestExit(ExitRequests.FlushTlb);
            }
        };
    }

    /// <summary>The domain's memory as devices and hypervisor services reach it: through the p2m, never throwing.</summary>
    public GuestMemory GuestMemory { get; }

    private HostMachine? hostMachine;
    private DomainMachineRam? machineRam;
    private readonly Lock machineGate = new();

    /// <summary>
    /// The machine under the hypervisor: the machine address space this domain's RAM has frames in, and the
    /// modelled secure world its forwarded SMCs reach. Its host's, shared by all the host's domains (set by the
    /// host before the domain runs), or, for a machine of its own (<c>jit run</c>), one made for it when first
    /// needed.
    /// </summary>
    public HostMachine HostMachine
    {
        get
        {
            lock (machineGate)
                return hostMachine ??= new HostMachine(
                    Counter is InstructionCounter ? EntropySources.Seeded(InstructionCountTrngSeed) : EntropySources.Host);
        }
        set
        {
            lock (machineGate)
            {
                if (machineRam is not null) throw new InvalidOperationException($"{LogName}: its RAM is already in a machine address space");
                hostMachine = value;
            }
        }
    }

    /// <summary>The modelled secure world (<see cref="HostMachine"/>'s).</summary>
    public SecureMonitor SecureWorld => HostMachine.SecureWorld;

    /// <summary>
    /// The domain's RAM banks at machine frames of their own in <see cref="HostMachine"/>'s address space, mapped
    /// at first use (the host does it as it builds the domain, after its RAM exists) until the domain is disposed.
    /// </summary>
    public DomainMachineRam MachineRam
    {
        get
        {
            var machine = HostMachine;
            lock (machineGate) return machineRam ??= new DomainMachineRam(machine.Memory, DomId, Memory);
        }
    }

    /// <summary>The TEE mediator its Trusted OS calls go to (<c>tee</c>), or null.</summary>
    public ITeeMediator? Tee { get; private set; }

    /// <summary>
    /// Gives the domain the TEE its configuration names: routes the mediator's calls to it (OP-TEE: the Trusted
    /// Application and Trusted OS owners; FF-A: its range of the Standard Secure Service) and tells the secure
    /// world about the domain. Once, after the domain's RAM exists and before its vCPUs run; the policy still
    /// decides whether a call gets there.
    /// </summary>
    /// <exception cref="InvalidOperationException">The secure world refused the domain, or a TEE is already attached.</exception>
    public void AttachTee(TeeKind kind)
    {
        if (Tee is not null) throw new InvalidOperationException($"{LogName} already has a TEE");
        var mediator = TeeMediators.Create(kind, this);
        if (mediator is null) return;
        mediator.DomainCreated();
        Tee = mediator;
        if (kind == TeeKind.Ffa) Smccc.RouteFfa(mediator);
        else Smccc.Route(SmcccOwner.TrustedApplication, SmcccOwner.TrustedOsLast, mediator);
    }

    /// <summary>The TRNG's seed in instruction-count time (any fixed value would do).</summary>
    public const ulong InstructionCountTrngSeed = 0x4A49_545F_5452_4E47;

    public string Name { get; }

    /// <summary>The domain ID the host knows it by (Xen's domid).</summary>
    public int DomId { get; }

    /// <summary>
    /// The host CPUs each vCPU's thread may run on (xl.cfg's <c>cpus</c>): entry i for vCPU i; vCPUs past the
    /// end, or all when null, run anywhere. Applied as each thread starts.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>>? VcpuAffinity { get; set; }

    /// <summary>How log lines name it: "d1 (guest)".</summary>
    public string LogName => $"d{DomId} ({Name})";
    public PhysicalMemory Memory { get; } = new();
    public MmioMap Mmio { get; } = new();
    public SmcccDispatcher Smccc { get; }

    /// <summary>The Xen hypercalls its vCPUs make with HVC #0xEA1.</summary>
    public Hypercalls Hypercalls { get; }
    public IReadOnlyList<Vcpu> Vcpus => vcpus;
    public SystemCounter Counter { get; }

    private volatile bool inputAttached;

    /// <summary>
    /// Whether something outside the guest may still send it input (a console whose stdin is open). In
    /// instruction-count time a vCPU in WFI with no timer armed waits for it; without it, nothing could ever
    /// wake the vCPU and the run ends as idle.
    /// </summary>
    public bool InputAttached
    {
        get => inputAttached;
        set
        {
            inputAttached = value;
            if (!value)
                foreach (var v in vcpus) v.Wake();
        }
    }

    private Jit.Translator.JitOptions jitOptions = Jit.Translator.JitOptions.Default;

    /// <summary>The execution engine's switches (<c>--jit</c>) for every vCPU, present and future.</summary>
    public Jit.Translator.JitOptions JitOptions
    {
        get => jitOptions;
        set
        {
            jitOptions = value;
            foreach (var v in vcpus) v.Engine.Options = value;
        }
    }

    /// <summary>Set once, by the first shutdown request; null while the domain may still run.</summary>
    public ShutdownReason? ShutdownRequest => shutdown < 0 ? null : (ShutdownReason)shutdown;

    public Vcpu AddVcpu()
    {
        // One clock per domain, one vCPU retiring instructions: a second vCPU would need its own notion of
        // time, and their interleaving would depend on host scheduling.
        if (Counter is InstructionCounter && vcpus.Count > 0)
            throw new InvalidOperationException("instruction-count time supports one vCPU");
        var v = new Vcpu(this, vcpus.Count);
        v.Engine.Options = jitOptions;
        v.Processor.BroadcastTlbInvalidation = invalidation =>
        {
            foreach (var other in vcpus)
            {
                if (other == v) continue;
                other.Processor.RemoteTlbInvalidations.Enqueue(invalidation);
                other.RequestExit(ExitRequests.FlushTlb);
            }
        };
        vcpus.Add(v);
        return v;
    }

    /// <summary>An emulator failure on a secondary vCPU's thread, reported by <see cref="Run"/> on the caller's.</summary>
    public Exception? Failure { get; private set; }

    internal void Fail(Exception e)
    {
        Failure ??= e;
        Stop();
    }

    /// <summary>
    /// Runs the domain until it shuts down, is stopped, or vCPU 0 has retired <paramref name="maxInstructions"/>:
    /// every vCPU on a host thread of its own (secondaries wait there for PSCI CPU_ON), while the calling thread
    /// waits. Its own thread gives vCPU 0 what every other vCPU has (a name in host tools, a stack of its own, a
    /// thread the toolstack can pause or pin) and keeps the caller free to serve consoles or other domains.
    /// </summary>
    public VcpuExit Run(ulong maxInstructions = ulong.MaxValue)
    {
        if (vcpus.Count == 0) throw new InvalidOperationException($"domain {Name} has no vCPU");
        // Disposed when this method returns, after every vCPU thread has left: the meter never reads a freed vCPU.
        using var observed = Statistics.JitMeter.Observe(this);
        var threads = new List<Thread>();
        VcpuExit exit = VcpuExit.Stopped;
        Exception? bootFailure = null;
        for (int i = 0; i < vcpus.Count; i++)
        {
            var v = vcpus[i];
            var t = i == 0
                ? new Thread(() =>
                {
                    StartVcpuThread(v);
                    try { exit = v.Run(maxInstructions); }
                    catch (Exception e) { bootFailure = e; }
                    finally
                    {
                        // vCPU 0 left: whatever the reason, the secondaries leave too before the domain can be disposed.
                        foreach (var other in vcpus.Skip(1)) other.RequestExit(ExitRequests.Stop);
                    }
                })
                : new Thread(() =>
                {
                    StartVcpuThread(v);
                    try { v.RunSecondary(); }
                    catch (Exception e) { Fail(e); }
                });
            t.Name = $"{Name} vCPU {i}";
            t.IsBackground = true;
            threads.Add(t);
        }
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        if (bootFailure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(bootFailure).Throw();
        if (Failure is not null) throw new InvalidOperationException($"a secondary vCPU failed: {Failure.GetType().Name}: {Failure.Message}", Failure);
        return exit;
    }

    private void StartVcpuThread(Vcpu v)
    {
        Log.Context = LogName;
        v.HostThreadId = Toolstack.ThreadCpuTime.CurrentThreadId();
        if (VcpuAffinity is { } affinity && v.Id < affinity.Count && !Toolstack.ThreadAffinity.PinCurrentThread(affinity[v.Id]))
            Log.Once("affinity", $"vCPU {v.Id}: the host refused its CPU affinity ({string.Join(',', affinity[v.Id])}); it runs anywhere");
    }

    /// <summary>Asks every vCPU to leave its run loop; safe from any thread, including a signal handler.</summary>
    public void Stop()
    {
        foreach (var v in vcpus) v.RequestExit(ExitRequests.Stop);
        // A paused vCPU must see the request: the pause ends with the domain.
        resumed.Set();
    }

    // Set while the domain may run; a pause resets it and parks every vCPU thread on it between blocks.
    private readonly ManualResetEventSlim resumed = new(true);

    /// <summary>Whether <see cref="Pause"/> holds the vCPUs.</summary>
    public bool Paused => !resumed.IsSet;

    /// <summary>
    /// xl pause: every vCPU stops at its next block boundary (or in its WFI, or while powered off) and stays
    /// until <see cref="Unpause"/>; interrupts that arrive meanwhile stay pending. Guest time goes on, as on Xen.
    /// </summary>
    public void Pause()
    {
        if (!resumed.IsSet) return;
        resumed.Reset();
        foreach (var v in vcpus) v.Post(() => resumed.Wait());
    }

    public void Unpause() => resumed.Set();

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

    long IPsciPlatform.CpuOn(int vcpu, ulong entry, ulong context) =>
        vcpus[vcpu].PowerOn(entry, context) ? Psci.Success : vcpus[vcpu].Power == VcpuPowerState.On ? Psci.AlreadyOn : Psci.OnPending;

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
        // The secure world lets go of the domain first (VM_DESTROYED, mid-call or not), then its RAM leaves the
        // machine address space, and only then is it freed.
        Tee?.DomainDestroyed();
        lock (machineGate)
        {
            machineRam?.Unmap();
            machineRam = null;
        }
        Memory.Dispose();
        resumed.Dispose();
    }
}
