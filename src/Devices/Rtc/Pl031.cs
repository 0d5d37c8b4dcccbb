using Jit.Runtime;
using Jit.Runtime.Interrupts;
using Jit.Runtime.Timers;
using Jit.Runtime.Startup;

namespace Jit.Devices.Rtc;

/// <summary>
/// Arm PrimeCell PL031 real-time clock (DDI 0224): a seconds counter that starts at the host's UTC time, a
/// match register raising the interrupt when the counter reaches it, and the PrimeCell identification. The
/// match is watched by an alarm on the domain's system counter, so in instruction-count time it fires after
/// the same guest instructions in every run.
/// </summary>
[CompiledEarly]
public sealed class Pl031 : IMmioDevice, IDisposable
{
    private const ulong Dr = 0x000, Mr = 0x004, Lr = 0x008, Cr = 0x00C, Imsc = 0x010, Ris = 0x014, Mis = 0x018, Icr = 0x01C;
    private static readonly byte[] Ids = [0x31, 0x10, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1]; // PeriphID0-3, PCellID0-3

    private readonly object gate = new();
    private readonly Func<long> clock;
    private readonly SystemCounter counter;
    private readonly CounterAlarm matchAlarm;
    private long offset;   // guest seconds minus host seconds
    private uint match;
    private uint lastSeen;
    private bool maskSet, raw;

    public IInterruptLine Interrupt { get; set; } = UnconnectedLine.Instance;

    /// <param name="clock">Seconds since the epoch; the host's UTC clock by default (tests pass their own).</param>
    /// <param name="counter">The counter the match alarm runs on, which <paramref name="clock"/> should follow; the host's by default.</param>
    public Pl031(Func<long>? clock = null, SystemCounter? counter = null)
    {
        this.clock = clock ?? (() => DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        this.counter = counter ?? SystemCounter.Host;
        matchAlarm = this.counter.CreateAlarm(() => { lock (gate) Evaluate(); });
        lastSeen = Now;
    }

    public string Name => "pl031";
    public ulong WindowSize => 0x1000;

    private uint Now => (uint)(clock() + offset);

    public bool Read(ulong offsetInWindow, int size, out ulong value)
    {
        value = 0;
        if (size != 4 || (offsetInWindow & 3) != 0) return false;
        lock (gate)
        {
            Evaluate();
            value = offsetInWindow switch
            {
                Dr => Now,
                Mr => match,
                Lr => Now,
                Cr => 1, // the counter always runs
                Imsc => maskSet ? 1UL : 0,
                Ris => raw ? 1UL : 0,
                Mis => raw && maskSet ? 1UL : 0,
                >= 0xFE0 and <= 0xFFC => Ids[(offsetInWindow - 0xFE0) / 4],
                _ => Unmodelled(offsetInWindow, "read"),
            };
        }
        return true;
    }

    public bool Write(ulong offsetInWindow, int size, ulong value)
    {
        if (size != 4 || (offsetInWindow & 3) != 0) return false;
        lock (gate)
        {
            switch (offsetInWindow)
            {
                case Mr: match = (uint)value; break;
                case Lr: offset = (long)(uint)value - clock(); lastSeen = Now; break;
                case Cr: break; // writing 0 does not stop the PL031 once started (DDI 0224 3.3.4)
                case Imsc: maskSet = (value & 1) != 0; break;
                case Icr: if ((value & 1) != 0) raw = false; break;
                case Dr or Ris or Mis: break; // read-only
                default: Unmodelled(offsetInWindow, "write"); break;
            }
            Evaluate();
        }
        return true;
    }

    /// <summary>Raises the raw status when the counter has reached the match value since the last look, drives the line, re-arms the timer.</summary>
    private void Evaluate()
    {
        uint now = Now;
        if (lastSeen < match && match <= now) raw = true;
        lastSeen = now;
        Interrupt.SetLevel(raw && maskSet);
        // Seconds turn over within a second of now, so this never fires before the match; at most a day ahead,
        // as the check repeats then.
        if (maskSet && !raw && match > now) matchAlarm.Arm(counter.Now + Math.Min(match - now, 86_400u) * CpuModel.CounterFrequency);
        else matchAlarm.Cancel();
    }

    private static ulong Unmodelled(ulong offset, string what)
    {
        Log.Once($"pl031-{what}-{offset:x}", $"pl031: {what} of unmodelled register at offset 0x{offset:x}");
        return 0;
    }

    public void Dispose() => matchAlarm.Dispose();
}
