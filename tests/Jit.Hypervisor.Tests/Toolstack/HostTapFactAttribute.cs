using System.Diagnostics;
using Jit.Devices.Network;

namespace Jit.Hypervisor.Tests.Toolstack;

/// <summary>A test that gives a domain a host TAP interface: it needs root (/dev/net/tun) and iproute2's ip.</summary>
public sealed class HostTapFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> unavailable = new(() =>
    {
        try
        {
            using var probe = new TapBackend($"jitprobe{Environment.ProcessId % 10000}");
        }
        catch (NetworkBackendException e)
        {
            return $"no TAP interface can be made here: {e.Message}";
        }
        try
        {
            using var ip = Process.Start(new ProcessStartInfo("ip", "-V") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            ip.WaitForExit();
            return ip.ExitCode == 0 ? null : "iproute2's ip does not run";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "iproute2's ip is not installed (scripts/setup.sh installs it)";
        }
    });

    public HostTapFactAttribute()
    {
        if (unavailable.Value is { } why) Skip = why;
    }

    /// <summary>Runs ip with these arguments and fails the test if it fails.</summary>
    public static string Ip(params string[] args)
    {
        var r = TestProcess.Run("ip", args, TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, $"ip {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout;
    }
}
