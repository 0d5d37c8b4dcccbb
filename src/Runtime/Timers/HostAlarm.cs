using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Jit.Runtime.Timers;

/// <summary>
/// An alarm on the host's monotonic clock. On Linux it is a timerfd on CLOCK_MONOTONIC (the clock
/// <see cref="GuestClock"/> counts) armed at the deadline's absolute time, with a thread that blocks reading it
/// and runs the action when it expires: microsecond precision, and re-arming from any thread takes effect at
/// once. A .NET timer, the fallback elsewhere, fires on millisecond steps, so a vCPU busy in compiled code saw
/// its timer interrupt milliseconds late. The descriptor and thread are made at the first <see cref="Arm"/>:
/// most alarms of short-lived test machines are never armed.
/// </summary>
internal sealed unsafe partial class HostAlarm(Action fire) : CounterAlarm
{
    private const int ClockMonotonic = 1, TfdCloexec = 0x80000, TfdTimerAbstime = 1, Eintr = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct ItimerSpec
    {
        public long IntervalSeconds, IntervalNanoseconds, ValueSeconds, ValueNanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int timerfd_create(int clockId, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int timerfd_settime(int fd, int flags, ItimerSpec* newValue, ItimerSpec* oldValue);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, ulong* buffer, nuint count);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    private readonly object gate = new();
    private int fd = -1;
    // The absolute time the timerfd is set to (0: disarmed): re-arming at the same time costs no system call,
    // and the timers re-arm at every register write and WFI.
    private long armedAt;
    private Timer? fallback;
    private Thread? waiter;
    private bool disposed;

    public override void Arm(ulong deadline)
    {
        lock (gate)
        {
            if (disposed) return;
            if (fd < 0 && fallback is null) Open();
            if (fd >= 0)
            {
                // An absolute time in the past fires at once.
                SetTimer(Math.Max(GuestClock.TimestampOf(deadline), 1));
                return;
            }
            ulong now = GuestClock.Now();
            ulong ticks = deadline > now ? deadline - now : 0;
            // Rounded up, so the alarm never fires before its deadline.
            long ms = (long)Math.Min(ticks / (CpuModel.CounterFrequency / 1000) + 1, int.MaxValue);
            fallback!.Change(ms, Timeout.Infinite);
        }
    }

    public override void Cancel()
    {
        lock (gate)
        {
            if (disposed) return;
            if (fd >= 0) SetTimer(0);
            else fallback?.Change(Timeout.Infinite, Timeout.Infinite);
        }
    }

    private void Open()
    {
        // GuestClock counts Stopwatch ticks, which are CLOCK_MONOTONIC nanoseconds on Linux.
        if (OperatingSystem.IsLinux() && Stopwatch.Frequency == 1_000_000_000)
        {
            try
            {
                fd = timerfd_create(ClockMonotonic, TfdCloexec);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                fd = -1;
            }
        }
        if (fd >= 0)
        {
            waiter = new Thread(Wait) { IsBackground = true, Name = "jit timer alarm" };
            waiter.Start(fd);
        }
        else
            fallback = new Timer(_ => fire(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Arms the timerfd at an absolute CLOCK_MONOTONIC time in nanoseconds; 0 disarms it.</summary>
    private void SetTimer(long monotonicNanoseconds)
    {
        if (monotonicNanoseconds == armedAt) return;
        armedAt = monotonicNanoseconds;
        var spec = new ItimerSpec
        {
            ValueSeconds = monotonicNanoseconds / 1_000_000_000,
            ValueNanoseconds = monotonicNanoseconds % 1_000_000_000,
        };
        timerfd_settime(fd, monotonicNanoseconds == 0 ? 0 : TfdTimerAbstime, &spec, null);
    }

    private void Wait(object? descriptor)
    {
        int timer = (int)descriptor!;
        ulong expirations;
        while (true)
        {
            nint n = read(timer, &expirations, sizeof(ulong));
            if (Volatile.Read(ref disposed)) break;
            if (n == sizeof(ulong))
            {
                // Expired: the descriptor is disarmed now, whatever it was set to.
                lock (gate) armedAt = 0;
                fire();
            }
            else if (Marshal.GetLastPInvokeError() != Eintr) break;
        }
        close(timer);
    }

    public override void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            if (fd >= 0) SetTimer(armedAt == 1 ? 2 : 1);
            fallback?.Dispose();
        }
        // A fire in progress must end before the caller frees what it writes to (a vCPU's state); the alarm's
        // own callback may dispose it, and cannot wait for itself.
        if (waiter is { } w && w != Thread.CurrentThread) w.Join();
    }
}
