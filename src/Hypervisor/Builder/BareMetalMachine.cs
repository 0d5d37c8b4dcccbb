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
}

public readonly record struct RunResult(RunEnd End, ulong Instructions, TimeSpan WallTime)
{
    public double Mips => WallTime.TotalSeconds > 0 ? Instructions / WallTime.TotalSeconds / 1e6 : 0;
}

/// <summary>
/// The minimal machine for bare-metal programs: one vCPU, RAM bank 0 of the guest memory map, the PL011 console
/// and PSCI over HVC. The program is entered at EL1h with the MMU off and interrupts masked.
/// </summary>
public sealed class BareMetalMachine : IDisposable
{
    public const ulong RamBase = 0x4000_0000;
    public const ulong DefaultRamSize = 128UL << 20;
    /// <summary>RAM bank 0 of the guest memory map holds at most 3 GiB.</summary>
    public const ulong MaxRamSize = 3UL << 30;
    public const ulong Pl011Base = 0x2200_0000;

    private volatile bool timedOut, interrupted;

    private BareMetalMachine(Domain domain, Pl011 uart, LoadedImage image)
    {
        Domain = domain;
        Uart = uart;
        Image = image;
    }

    public Domain Domain { get; }
    public Pl011 Uart { get; }
    public LoadedImage Image { get; }
    public Vcpu Vcpu => Domain.Vcpus[0];

    /// <summary>Builds the machine and loads <paramref name="path"/>; a bad image raises <see cref="ImageError"/>.</summary>
    public static BareMetalMachine Create(string path, Stream console, ulong ramSize = DefaultRamSize)
    {
        var domain = new Domain(Path.GetFileName(path));
        try
        {
            domain.Memory.AddRam(RamBase, ramSize);
            var uart = new Pl011(console);
            domain.Mmio.Register(Pl011Base, uart);
            var image = ImageLoader.Load(path, domain.Memory, RamBase);
            var vcpu = domain.AddVcpu();
            vcpu.Reset(image.Entry);
            return new BareMetalMachine(domain, uart, image);
        }
        catch
        {
            domain.Dispose();
            throw;
        }
    }

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
        ulong before = Vcpu.Retired;
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
            _ => timedOut && !interrupted ? RunEnd.Timeout : RunEnd.Interrupted,
        };
        return new RunResult(end, Vcpu.Retired - before, clock.Elapsed);
    }

    public void Dispose() => Domain.Dispose();
}
