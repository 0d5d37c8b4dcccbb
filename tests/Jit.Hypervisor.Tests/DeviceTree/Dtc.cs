using System.Diagnostics;

namespace Jit.Hypervisor.Tests.DeviceTree;

/// <summary>The reference decoder for device-tree blobs: dtc -I dtb -O dts.</summary>
internal static class Dtc
{
    public static string Decompile(byte[] blob)
    {
        string path = Path.Combine(Path.GetTempPath(), $"jit-fdt-{Guid.NewGuid():N}.dtb");
        File.WriteAllBytes(path, blob);
        try
        {
            return Decompile(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static string Decompile(string path) => Decompile(path, out _);

    /// <param name="warnings">What dtc printed on stderr: its checks of the bindings it knows.</param>
    public static string Decompile(string path, out string warnings)
    {
        var psi = new ProcessStartInfo("dtc", ["-I", "dtb", "-O", "dts", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("dtc not found (run scripts/setup.sh)");
        string dts = p.StandardOutput.ReadToEnd();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"dtc rejected {path}: {err}");
        warnings = err;
        return dts;
    }

    /// <summary>Compiles <paramref name="dts"/> source into a blob file at <paramref name="path"/>.</summary>
    public static void Compile(string dts, string path)
    {
        var psi = new ProcessStartInfo("dtc", ["-I", "dts", "-O", "dtb", "-o", path, "-"])
            { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("dtc not found (run scripts/setup.sh)");
        p.StandardInput.Write(dts);
        p.StandardInput.Close();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"dtc rejected the source: {err}");
    }
}
