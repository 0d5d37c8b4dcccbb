using System.Diagnostics;
using System.Text;

namespace Jit.Hypervisor.Tests.Toolstack;

/// <summary>
/// A hypervisor of its own for a test class: a private state folder (JIT_STATE), <c>./jit xl</c> and
/// <c>./jit hypervisor</c> run against it as a user runs them, and the hypervisor stopped at the end.
/// </summary>
internal sealed class ToolstackSession : IDisposable
{
    public ToolstackSession()
    {
        State = Path.Combine(Path.GetTempPath(), $"jit-state-{Guid.NewGuid():N}");
        Directory.CreateDirectory(State);
        Root = TestProcess.RepositoryRoot();
        string cache = Environment.GetEnvironmentVariable("JIT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "jit");
        Kernel = Script("scripts/fetch-arm64.sh", "kernel");
        ShellInitrd = Script("guests/initramfs/build.sh", "shell", Path.Combine(cache, "initramfs-shell.cpio.gz"));
        Probe = TestProcess.Guest("isolation", "sys-isolation-probe.elf");
        Fill = Path.Combine(Root, "guests", "build", "sys-isolation-fill.elf");
        // ./jit rebuilds a stale tool before running it; do that once, not in concurrent processes.
        Assert.Equal(0, TestProcess.Jit(["help"], TimeSpan.FromMinutes(5)).ExitCode);
    }

    public string State { get; }
    public string Root { get; }
    public string Kernel { get; }
    public string ShellInitrd { get; }
    public string Probe { get; }
    public string Fill { get; }

    private Dictionary<string, string> StateVariable => new() { ["JIT_STATE"] = State };

    public TestProcess.Result Xl(params string[] args) =>
        TestProcess.Run(Path.Combine(Root, "jit"), ["xl", .. args], TimeSpan.FromMinutes(2), environment: StateVariable);

    public TestProcess.Result Hypervisor(params string[] args) =>
        TestProcess.Run(Path.Combine(Root, "jit"), ["hypervisor", .. args], TimeSpan.FromMinutes(2), environment: StateVariable);

    /// <summary>Writes an xl.cfg with these lines and returns its path.</summary>
    public string Config(string name, params string[] lines)
    {
        string path = Path.Combine(State, name + ".cfg");
        File.WriteAllLines(path, lines);
        return path;
    }

    public string LinuxConfig(string name, int vcpus, string cmdline, params string[] more) =>
        Config(name, [$"name = \"{name}\"", $"kernel = \"{Kernel}\"", $"ramdisk = \"{ShellInitrd}\"", "memory = 256",
            $"vcpus = {vcpus}", $"cmdline = \"console=ttyAMA0 {cmdline}\"", .. more]);

    public string ConsoleLog(string name) => Path.Combine(State, "console", $"guest-{name}.log");

    public string ReadLog(string name)
    {
        try
        {
            using var f = new FileStream(ConsoleLog(name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(f).ReadToEnd();
        }
        catch (FileNotFoundException)
        {
            return "";
        }
    }

    /// <summary>Waits until the domain's console log holds <paramref name="text"/> (counted <paramref name="times"/>).</summary>
    public void WaitForLog(string name, string text, TimeSpan timeout, int times = 1)
    {
        var clock = Stopwatch.StartNew();
        while (Occurrences(ReadLog(name), text) < times)
        {
            Assert.True(clock.Elapsed < timeout, $"'{text}' x{times} not in {name}'s console log after {timeout.TotalSeconds} s:\n{Tail(ReadLog(name))}");
            Thread.Sleep(100);
        }
    }

    public static int Occurrences(string text, string what)
    {
        int n = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static string Tail(string s) => s.Length > 3000 ? s[^3000..] : s;

    /// <summary>The xl list rows by name: (domid, MiB, vCPUs, state flags).</summary>
    public Dictionary<string, (int Id, int Mem, int Vcpus, string State)> List()
    {
        var r = Xl("list");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Name                                        ID   Mem VCPUs\tState\tTime(s)", lines[0]);
        var rows = new Dictionary<string, (int, int, int, string)>();
        foreach (string l in lines.Skip(1))
        {
            var f = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            rows[f[0]] = (int.Parse(f[1]), int.Parse(f[2]), int.Parse(f[3]), f[4]);
        }
        return rows;
    }

    /// <summary>
    /// The hypervisor process's resident KiB and its own threads from /proc: the runtime's (named ".NET …", such
    /// as the background GC thread it starts on first need) are not the hypervisor's to keep.
    /// </summary>
    public (long RssKiB, int Threads) HypervisorFootprint()
    {
        int pid = int.Parse(File.ReadAllText(Path.Combine(State, "hypervisor.pid")).Trim());
        long rss = 0;
        foreach (string l in File.ReadAllLines($"/proc/{pid}/status"))
        {
            string[] f = l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length > 1 && f[0] == "VmRSS:") rss = long.Parse(f[1]);
        }
        int threads = Directory.GetDirectories($"/proc/{pid}/task")
            .Count(t => !File.ReadAllText(Path.Combine(t, "comm")).StartsWith(".NET", StringComparison.Ordinal));
        return (rss, threads);
    }

    /// <summary>
    /// <c>./jit xl console NAME</c> in a pseudo-terminal (util-linux script), as a user at a terminal runs it:
    /// sends <paramref name="line"/>, waits for <paramref name="expect"/> on the terminal, then Ctrl-]. Returns what
    /// the terminal showed, and whether the client left after Ctrl-].
    /// </summary>
    public (string Screen, bool Detached) ConsoleSession(string name, string line, string expect, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("script")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-q", "-f", "-e", "-c", $"'{Path.Combine(Root, "jit")}' xl console {name}", "/dev/null" }) psi.ArgumentList.Add(a);
        psi.Environment["JIT_STATE"] = State;
        using var p = Process.Start(psi)!;
        var screen = new StringBuilder();
        var reader = Task.Run(() =>
        {
            var buffer = new char[1024];
            int n;
            while ((n = p.StandardOutput.Read(buffer, 0, buffer.Length)) > 0)
                lock (screen) screen.Append(buffer, 0, n);
        });
        var clock = Stopwatch.StartNew();
        Thread.Sleep(500);
        p.StandardInput.Write(line + "\r");
        p.StandardInput.Flush();
        while (true)
        {
            lock (screen) if (screen.ToString().Contains(expect)) break;
            if (clock.Elapsed > timeout) break;
            Thread.Sleep(50);
        }
        p.StandardInput.Write('\x1d');
        p.StandardInput.Flush();
        bool detached = p.WaitForExit(10_000);
        if (!detached) p.Kill(entireProcessTree: true);
        reader.Wait(5000);
        lock (screen) return (screen.ToString(), detached);
    }

    /// <summary>The shell initramfs with these kernel modules loaded by its /init (built once, cached).</summary>
    public string ShellInitrdWithModules(string modules)
    {
        string cache = Environment.GetEnvironmentVariable("JIT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "jit");
        return Script("guests/initramfs/build.sh", "shell", Path.Combine(cache, $"initramfs-shell-{modules.Replace(',', '-')}.cpio.gz"), "--modules", modules);
    }

    private string Script(string script, params string[] args)
    {
        var r = TestProcess.Run(Path.Combine(Root, script), args, TimeSpan.FromMinutes(10));
        Assert.True(r.ExitCode == 0, $"{script} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}");
        return r.Stdout.Trim().Split('\n').Last();
    }

    public void Dispose()
    {
        Hypervisor("stop");
        try { Directory.Delete(State, recursive: true); }
        catch (IOException) { }
    }
}
