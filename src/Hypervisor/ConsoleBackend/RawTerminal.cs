using System.Runtime.InteropServices;

namespace Jit.Hypervisor.ConsoleBackend;

/// <summary>
/// Puts the terminal on stdin into raw mode (every byte as typed, no echo, no signals from keys) until disposed,
/// with tcsetattr in this process. Not with stty in a child: .NET re-applies the terminal settings it keeps
/// whenever a child process ends, which would undo it at once.
/// </summary>
public sealed unsafe partial class RawTerminal : IDisposable
{
    // struct termios is 60 bytes on Linux; room to spare for other layouts.
    private const int TermiosSize = 128, TcsaNow = 0;
    private readonly byte[] saved = new byte[TermiosSize];
    private bool active;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcsetattr(int fd, int optionalActions, byte* termios);

    [LibraryImport("libc")]
    private static partial void cfmakeraw(byte* termios);

    /// <summary>Raw mode on stdin when it is a terminal; nothing otherwise.</summary>
    public RawTerminal()
    {
        if (Console.IsInputRedirected || !OperatingSystem.IsLinux()) return;
        byte* raw = stackalloc byte[TermiosSize];
        fixed (byte* s = saved)
        {
            if (tcgetattr(0, s) != 0) return;
            new ReadOnlySpan<byte>(s, TermiosSize).CopyTo(new Span<byte>(raw, TermiosSize));
        }
        cfmakeraw(raw);
        active = tcsetattr(0, TcsaNow, raw) == 0;
    }

    public void Dispose()
    {
        if (!active) return;
        active = false;
        fixed (byte* s = saved) tcsetattr(0, TcsaNow, s);
    }
}
