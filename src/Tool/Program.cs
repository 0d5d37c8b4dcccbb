using Jit.Tool.Cli;
using Jit.Hypervisor.Statistics;
using Jit.Tool.Statistics;

using Jit.Hypervisor;

namespace Jit.Tool;

public static class Program
{
    public static int Main(string[] args)
    {
        EventSourceWarmup.Run();
        return CommandLine.Run(args, Console.Out, Console.Error);
    }
}
