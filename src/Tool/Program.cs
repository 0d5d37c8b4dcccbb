using Jit.Tool.Cli;
using Jit.Tool.Statistics;

namespace Jit.Tool;

public static class Program
{
    public static int Main(string[] args)
    {
        EventSourceWarmup.Run();
        // A command that boots its guest right away has its vCPU's first-called methods compiled while it builds
        // the machine. Not the hypervisor daemon: it starts once and then serves domains for a long time.
        if (args is ["run" or "boot" or "disasm", ..] && !args.Contains("--help"))
            Jit.Runtime.Startup.EarlyCompilation.Start(
                typeof(Jit.Translator.Interpreter.BlockInterpreter).Assembly, typeof(Jit.Runtime.Memory.Mmu).Assembly,
                typeof(Jit.Devices.Gic.GicV3).Assembly, typeof(Jit.Hypervisor.Vcpu).Assembly);
        return CommandLine.Run(args, Console.Out, Console.Error);
    }
}
