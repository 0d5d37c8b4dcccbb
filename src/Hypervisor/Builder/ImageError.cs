namespace Jit.Hypervisor.Builder;

/// <summary>
/// A guest image the domain builder cannot use. The message names the file and the problem in one line, so
/// the command-line tool can print it as it is.
/// </summary>
public sealed class ImageError : Exception
{
    public ImageError(string file, string problem) : base($"{file}: {problem}")
    {
        File = file;
        Problem = problem;
    }

    public string File { get; }
    public string Problem { get; }
}
