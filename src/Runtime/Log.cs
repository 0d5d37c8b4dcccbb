using System.Collections.Concurrent;

namespace Jit.Runtime;

/// <summary>Diagnostics to stderr. Unimplemented features are reported once per key so a guest cannot flood the log.</summary>
public static class Log
{
    private static readonly ConcurrentDictionary<string, bool> seen = new();

    public static bool Quiet { get; set; }

    public static void Once(string key, string message)
    {
        if (seen.TryAdd(key, true)) Warn(message);
    }

    public static void Warn(string message)
    {
        if (!Quiet) Console.Error.WriteLine($"jit: {message}");
    }
}
