using System.Globalization;
using System.Runtime.InteropServices;

namespace Jit.Hypervisor.Toolstack;

/// <summary>The CPU time of host threads, for xl's Time(s): Linux's per-task utime + stime.</summary>
public static partial class ThreadCpuTime
{
    [LibraryImport("libc")]
    private static partial int gettid();

    /// <summary>The calling thread's kernel task ID, or 0 where there is none to read.</summary>
    public static int CurrentThreadId()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        try { return gettid(); }
        catch (EntryPointNotFoundException) { return 0; }
    }

    /// <summary>Seconds of CPU the task has used; 0 when it has gone or cannot be read.</summary>
    public static double Seconds(int tid)
    {
        if (tid == 0) return 0;
        try
        {
            string stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
            // Fields after the parenthesised command name, which may itself hold spaces.
            string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after "state".
            long ticks = long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
            return ticks / 100.0; // USER_HZ
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
