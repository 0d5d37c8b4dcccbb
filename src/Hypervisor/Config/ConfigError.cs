namespace Jit.Hypervisor.Config;

/// <summary>
/// A domain configuration that cannot be used. The message is one line in the form compilers and xl use,
/// <c>dom1.cfg:7: memory: expected a number, got "lots"</c>: where (file and line, or "command line" for an
/// override of <c>xl create</c>), what (the key, or the offending token when no key is known yet), and the
/// problem. Loading a configuration throws only this, whatever the input.
/// </summary>
public sealed class ConfigError : Exception
{
    public ConfigError(ConfigOrigin origin, string? subject, string problem)
        : base(Format(origin, subject, problem))
    {
        Origin = origin;
        Subject = subject;
        Problem = problem;
    }

    /// <summary>Where the problem is: the file and line of the value, the file alone for a missing key.</summary>
    public ConfigOrigin Origin { get; }

    /// <summary>The key the problem is about, or the token where no key applies; null when neither does.</summary>
    public string? Subject { get; }

    public string Problem { get; }

    private static string Format(ConfigOrigin origin, string? subject, string problem) =>
        subject is null ? $"{origin}: {problem}" : $"{origin}: {subject}: {problem}";
}
