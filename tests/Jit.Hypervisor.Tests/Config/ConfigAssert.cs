using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Tests.Config;

internal static class ConfigAssert
{
    /// <summary>
    /// The error is one line that starts with where and what (<c>dom.cfg:7: memory: </c>) and says the problem.
    /// </summary>
    public static ConfigError Rejects(Action load, string expectedStart, string? problem = null)
    {
        var e = Assert.Throws<ConfigError>(load);
        OneLine(e);
        Assert.StartsWith(expectedStart, e.Message);
        if (problem is not null) Assert.Contains(problem, e.Message);
        return e;
    }

    public static void OneLine(ConfigError e)
    {
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
        Assert.False(string.IsNullOrWhiteSpace(e.Problem));
    }
}
