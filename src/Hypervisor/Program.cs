using Jit.Hypervisor.Cli;

namespace Jit.Hypervisor;

public static class Program
{
    public static int Main(string[] args) => CommandLine.Run(args, Console.Out, Console.Error);
}
