using Jit.Hypervisor.Cli;
using Jit.Hypervisor.Statistics;

namespace Jit.Hypervisor;

public static class Program
{
    public static int Main(string[] args)
    {
        EventSourceWarmup.Run();
        return CommandLine.Run(args, Console.Out, Console.Error);
    }
}
