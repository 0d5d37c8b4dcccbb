using System.Diagnostics;

namespace Jit.Hypervisor.Tests;

/// <summary>Runs the <c>jit</c> tool and the guest build as child processes, as a user would.</summary>
internal static class TestProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Jit.sln"))) return d.FullName;
        throw new InvalidOperationException("repository root (Jit.sln) not found above the test binaries");
    }

    /// <summary>Builds one target of guests/Makefile and returns guests/build/<paramref name="file"/>.</summary>
    public static string Guest(string target, string file)
    {
        string root = RepositoryRoot();
        var make = Run("make", ["-s", "-C", Path.Combine(root, "guests"), target], TimeSpan.FromSeconds(120));
        Assert.True(make.ExitCode == 0, $"make {target} failed:\n{make.Stdout}{make.Stderr}");
        return Path.Combine(root, "guests", "build", file);
    }

    /// <summary><c>./jit ARGS</c> from the repository root.</summary>
    public static Result Jit(string[] args, TimeSpan timeout) => Run(Path.Combine(RepositoryRoot(), "jit"), args, timeout);

    /// <summary>
    /// Runs a program with <paramref name="input"/> (or nothing) on stdin; one that outlives <paramref name="timeout"/>
    /// is killed and fails the test.
    /// </summary>
    public static Result Run(string file, string[] args, TimeSpan timeout, string? input = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        if (input is not null) p.StandardInput.Write(input);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            Assert.Fail($"{Path.GetFileName(file)} {string.Join(' ', args)} still running after {timeout.TotalSeconds} s:\n{stdout.Result}\n--- stderr ---\n{stderr.Result}");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
