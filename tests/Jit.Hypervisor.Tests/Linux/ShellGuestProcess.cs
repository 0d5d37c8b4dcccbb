using System.Diagnostics;
using System.Text;

namespace Jit.Hypervisor.Tests.Linux;

/// <summary>
/// <c>./jit run</c> of Debian's kernel with the busybox shell initramfs in a process of its own, stdin open, as
/// a user starts it in one terminal before pointing another tool (jit top, jit disasm --pid) at it; or of any
/// guest a user talks to on its console (<see cref="ShellGuestProcess(string[], string)"/>).
/// </summary>
internal sealed class ShellGuestProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder console = new();
    private readonly TaskCompletionSource shell = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task<string> log;
    private readonly Task reader;
    private readonly string ready;

    public ShellGuestProcess(TimeSpan timeout) : this(ShellArguments(timeout), "Jit: busybox shell") { }

    /// <summary>Runs <c>./jit</c> with <paramref name="arguments"/>; <paramref name="readyMarker"/> is the console text <see cref="ReachesShell"/> waits for.</summary>
    public ShellGuestProcess(string[] arguments, string readyMarker)
    {
        ready = readyMarker;
        string root = TestProcess.RepositoryRoot();
        // ./jit rebuilds a stale tool before running it; do that now, not in two processes at once later.
        Assert.Equal(0, TestProcess.Jit(["help"], TimeSpan.FromMinutes(5)).ExitCode);

        var psi = new ProcessStartInfo(Path.Combine(root, "jit"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        process = Process.Start(psi)!;
        // Read as characters, not lines: a login or shell prompt ends without a newline.
        reader = Task.Run(() =>
        {
            var chunk = new char[4096];
            int n;
            while ((n = process.StandardOutput.Read(chunk, 0, chunk.Length)) > 0)
                lock (console)
                {
                    int from = Math.Max(0, console.Length - ready.Length);
                    console.Append(chunk, 0, n);
                    if (console.ToString(from, console.Length - from).Contains(ready, StringComparison.Ordinal)) shell.TrySetResult();
                }
        });
        log = process.StandardError.ReadToEndAsync();
    }

    private static string[] ShellArguments(TimeSpan timeout)
    {
        string root = TestProcess.RepositoryRoot();
        string kernel = Script(root, "scripts/fetch-arm64.sh", "kernel");
        string initrd = Script(root, "guests/initramfs/build.sh", "shell", Path.Combine(Cache, "initramfs-shell.cpio.gz"));
        return ["run", "--kernel", kernel, "--initrd", initrd, "--timeout", ((int)timeout.TotalSeconds).ToString()];
    }

    public static string Cache =>
        Environment.GetEnvironmentVariable("JIT_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "jit");

    public int Id => process.Id;
    public Process Process => process;

    /// <summary>The guest's console so far.</summary>
    public string Console()
    {
        lock (console) return console.ToString();
    }

    /// <summary>The emulator's own messages; complete once the process has exited.</summary>
    public Task<string> Log => log;

    /// <summary>True once the init script has printed its banner (or the ready marker): the kernel booted and its hot paths are compiled.</summary>
    public async Task<bool> ReachesShell(TimeSpan patience) => await Task.WhenAny(shell.Task, Task.Delay(patience)) == shell.Task;

    /// <summary>True once <paramref name="text"/> appears in the console after the first <paramref name="from"/> characters.</summary>
    public async Task<bool> WaitFor(string text, TimeSpan patience, int from = 0)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < patience)
        {
            string c = Console();
            if (c.IndexOf(text, Math.Min(from, c.Length), StringComparison.Ordinal) >= 0) return true;
            if (process.HasExited) return false;
            await Task.Delay(100);
        }
        return false;
    }

    public async Task Type(string line)
    {
        try
        {
            await process.StandardInput.WriteLineAsync(line);
            await process.StandardInput.FlushAsync();
        }
        catch (IOException e)
        {
            Assert.Fail($"typing '{line}' failed ({e.Message}): {await Describe()}");
        }
    }

    /// <summary>The last 2000 characters of the console and of the log, for a failure message; ends the guest.</summary>
    public async Task<string> Describe()
    {
        bool exited = process.HasExited;
        if (!exited) process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        static string Tail(string text) => text.Length > 2000 ? text[^2000..] : text;
        return $"the guest had {(exited ? $"exited with {process.ExitCode}" : "not exited")}; its stderr:\n{Tail(await log)}\nconsole:\n{Tail(Console())}";
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        reader.Wait(TimeSpan.FromSeconds(10));
        process.Dispose();
    }

    public static string Script(string root, string script, params string[] args)
    {
        var r = TestProcess.Run(Path.Combine(root, script), args, TimeSpan.FromMinutes(10));
        Assert.True(r.ExitCode == 0, $"{script} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Stderr}");
        return r.Stdout.Trim().Split('\n').Last();
    }
}
