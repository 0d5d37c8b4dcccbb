using Jit.SecureWorld.Optee;

namespace Jit.SecureWorld.Tests;

/// <summary>The secure world over 16 MiB of array-backed machine memory; each guest gets its own 4 MiB of it.</summary>
public sealed class TestMachine
{
    public const ulong RamBase = 0x4000_0000;
    public const int GuestRam = 4 << 20;

    public TestMachine(OpteeOptions? options = null, EntropySource? entropy = null)
    {
        Memory = new ArrayMachineMemory(RamBase, 4 * GuestRam);
        Monitor = SecureMonitor.Create(Memory, entropy ?? EntropySources.Seeded(42), options);
    }

    public ArrayMachineMemory Memory { get; }
    public SecureMonitor Monitor { get; }
    public OpteeOs Os => Monitor.TrustedOs;

    /// <summary>An SMC the hypervisor makes for itself (a7 = 0).</summary>
    public SecureCall Hypervisor(uint fid, ulong a1 = 0)
    {
        var call = new SecureCall(fid, SecureCall.HypervisorClientId) { A1 = a1 };
        Monitor.Smc(ref call);
        return call;
    }

    /// <summary>Creates domain <paramref name="domid"/>'s client (VM_CREATED) and a probed driver for it.</summary>
    public LinuxOpteeDriver Guest(int domid, bool probe = true)
    {
        uint client = SecureCall.ClientIdForDomain(domid);
        Assert.Equal(OpteeSmc.ReturnOk, (uint)Hypervisor(OpteeSmc.VmCreated, client).A0);
        var driver = Driver(domid);
        if (probe) driver.Probe();
        return driver;
    }

    /// <summary>A driver for domain <paramref name="domid"/> without telling the OS about it.</summary>
    public LinuxOpteeDriver Driver(int domid)
    {
        ulong start = RamBase + (ulong)(domid % 4) * GuestRam;
        return new LinuxOpteeDriver(Monitor, Memory, SecureCall.ClientIdForDomain(domid), new PageAllocator(start, start + GuestRam));
    }
}
