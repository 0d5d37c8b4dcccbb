using System.Collections.Concurrent;

namespace Jit.Runtime;

/// <summary>
/// Diagnostics to stderr. Unimplemented features are reported once per key and per domain, so a guest cannot
/// flood the log and every domain still hears about its own.
/// </summary>
public static class Log
{
    private static readonly ConcurrentDictionary<(string? Context, string Key), bool> seen = new();

    [ThreadStatic] private static string? context;

    public static bool Quiet { get; set; }

    /// <summary>
    /// Whom the calling thread serves, e.g. "d1 (guest)": every vCPU thread sets its domain, so a line logged
    /// from a device or the CPU core on that thread names the domain, and "once" means once per domain.
    /// </summary>
    public static string? Context
    {
        get => context;
        set => context = value;
    }

    public static void Once(string key, string message)
    {
        if (seen.TryAdd((context, key), true)) Warn(message);
    }

    /// <summary>
    /// <see cref="Once(string, string)"/> for <paramref name="domain"/> whatever thread calls it (a device's DMA
    /// may run on an I/O thread that serves no domain): the line names it and "once" is once for it.
    /// </summary>
    public static void OnceFor(string domain, string key, string message)
    {
        if (Quiet || !seen.TryAdd((domain, key), true)) return;
        Console.Error.WriteLine($"jit: {domain}: {message}");
    }

    public static void Warn(string message)
    {
        if (Quiet) return;
        Console.Error.WriteLine(context is null ? $"jit: {message}" : $"jit: {context}: {message}");
    }
}
