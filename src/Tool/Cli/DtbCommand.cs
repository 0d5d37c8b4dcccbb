using Jit.Hypervisor.Builder;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary><c>jit dtb</c>: writes the device tree a Linux guest with these options would get.</summary>
internal static class DtbCommand
{
    public const string Usage = "jit dtb [--smp N] [--mem SIZE] [--append \"…\"] [--smmu[=on|off]] --out FILE";

    public static int Execute(string[] args, TextWriter stderr)
    {
        string append = "console=ttyAMA0";
        ulong? mem = null;
        int smp = 1;
        string? output = null;
        bool smmu = LinuxOptions.DefaultSmmu;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help":
                    System.Console.Out.WriteLine($"usage: {Usage}");
                    return CommandLine.ExitCodes.Ok;
                case "--append": append = Options.Value(args, ref i); break;
                case "--smp": smp = (int)Options.Count("--smp", Options.Value(args, ref i)); break;
                case "--mem": mem = Options.Size("--mem", Options.Value(args, ref i)); break;
                case var a when RunCommand.Smmu(a) is bool s: smmu = s; break;
                case "--out": output = Options.Value(args, ref i); break;
                default: throw new UsageError($"unknown option {args[i]}");
            }
        }
        if (output is null) throw new UsageError("give --out FILE");
        var options = RunCommand.Linux("(none)", null, append, mem, smp) with { Smmu = smmu };
        try
        {
            RunCommand.WriteFile(output, LinuxMachine.DescribePlatform(options, null));
        }
        catch (ImageError e)
        {
            stderr.WriteLine($"jit: {e.Message}");
            return CommandLine.ExitCodes.BadInput;
        }
        return CommandLine.ExitCodes.Ok;
    }
}
