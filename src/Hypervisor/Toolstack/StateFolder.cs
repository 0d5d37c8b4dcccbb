namespace Jit.Hypervisor.Toolstack;

/// <summary>
/// Where a running hypervisor keeps what its toolstack and users reach: the control socket, its log (xl dmesg),
/// its process ID and the console logs. <c>$JIT_STATE</c>, else <c>$XDG_RUNTIME_DIR/jit</c>, else
/// <c>/tmp/jit-UID</c>; created private to its owner (0700), since the socket controls every domain.
/// </summary>
public sealed class StateFolder(string path)
{
    public string Path { get; } = path;
    public string Socket => System.IO.Path.Combine(Path, "control.sock");
    public string Log => System.IO.Path.Combine(Path, "hypervisor.log");
    public string PidFile => System.IO.Path.Combine(Path, "hypervisor.pid");
    public string ConsoleFolder => System.IO.Path.Combine(Path, "console");

    public static StateFolder Default()
    {
        if (Environment.GetEnvironmentVariable("JIT_STATE") is { Length: > 0 } state) return new StateFolder(state);
        if (Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtime) return new StateFolder(System.IO.Path.Combine(runtime, "jit"));
        return new StateFolder($"/tmp/jit-{Uid()}");
    }

    /// <summary>Creates the folder (0700) and its console folder; an existing folder another user owns or others can reach is refused.</summary>
    public void Create()
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the hypervisor's control socket needs a Unix host");
        Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var mode = File.GetUnixFileMode(Path);
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
            File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(ConsoleFolder);
    }

    private static uint Uid() => getuid();

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint getuid();
}
