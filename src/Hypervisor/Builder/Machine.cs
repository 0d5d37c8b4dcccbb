using System.Diagnostics;
using Jit.Devices.Uart;
using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Builder;

/// <summary>How a run of a guest ended.</summary>
public enum RunEnd
{
    PowerOff,
    Reset,
    AllVcpusOff,
    Timeout,
    Interrupted,
    InstructionLimit,
    /// <summary>In instruction-count time the guest waited for an interrupt that nothing could raise.</summary>
    Idle,
}

public readonly record struct RunResult(RunEnd End, ulong Instructions, TimeSpan WallTime)
{
    public double Mips => WallTime.TotalSeconds > 0 ? Instructions / WallTime.TotalSeconds / 1e6 : 0;
}

/// <summary>A built domain with its console, run in the foreground until it powers off, times out or is interrupted.</summary>
public abstract class Machine : IDisposable
{
    private volatile bool timedOut, interrupted;

    protected Machine(Domain domain, Pl011 uart)
    {
        Domain = domain;
        Uart = uart;
    }

    public Domain Domain { get; }
    public Pl011 Uart { get; }
    public Vcpu Vcpu => Domain.Vcpus[0];

    /// <summary>Guest instructions retired by all vCPUs.</summary>
    public ulong Retired => Domain.Vcpus.Aggregate(0UL, (sum, v) => sum + v.Retired);

    /// <summary>Ends a running <see cref="Run"/> as interrupted; safe from a signal handler.</summary>
    public void Interrupt()
    {
        interrupted = true;
        Domain.Stop();
    }

    public RunResult Run(TimeSpan? timeout = null, ulong maxInstructions = ulong.MaxValue)
    {
        // Disposing the registration waits for a timeout callback in flight, so none can touch the vCPU after
        // the caller disposes the machine.
        using var deadline = new CancellationTokenSource();
        using var onTimeout = deadline.Token.Register(() => { timedOut = true; Domain.Stop(); });
        if (timeout is { } t) deadline.CancelAfter(t);
        ulong before = Retired;
        var clock = Stopwatch.StartNew();
        VcpuExit exit;
        try
        {
            exit = Domain.Run(maxInstructions);
        }
        finally
        {
            clock.Stop();
            Uart.Flush();
        }
        var end = exit switch
        {
            VcpuExit.Shutdown => Domain.ShutdownRequest switch
            {
                ShutdownReason.PowerOff => RunEnd.PowerOff,
                ShutdownReason.Reset => RunEnd.Reset,
                _ => RunEnd.AllVcpusOff,
            },
            VcpuExit.PoweredOff => RunEnd.AllVcpusOff,
            VcpuExit.InstructionLimit => RunEnd.InstructionLimit,
            VcpuExit.Idle => RunEnd.Idle,
            _ => timedOut && !interrupted ? RunEnd.Timeout : RunEnd.Interrupted,
        };
        return new RunResult(end, Retired - before, clock.Elapsed);
    }

    public virtual void Dispose() => Domain.Dispose();
}
