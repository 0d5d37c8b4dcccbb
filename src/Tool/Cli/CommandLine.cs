using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>A sub-command of <c>jit</c>: <c>jit NAME ARGS…</c>.</summary>
internal sealed record Command(string Name, string Usage, string Summary, Func<string[], TextWriter, int> Run);

/// <summary>
/// Entry of the <c>jit</c> tool. Each sub-command is one row of <see cref="Commands"/>; adding <c>boot</c>,
/// <c>dtb</c>, <c>bench</c> or <c>disasm</c> is adding a row and its class.
/// </summary>
public static class CommandLine
{
    /// <summary>Exit codes shared by every command.</summary>
    public static class ExitCodes
    {
        public const int Ok = 0;
        public const int Failure = 1;
        public const int BadInput = 2;
        public const int GuestReset = 3;
        public const int GuestPanic = 4;
        public const int Timeout = 124;
        public const int Interrupted = 130;
    }

    private static readonly Command[] Commands =
    [
        new("run", RunCommand.Usage, "run a guest program until it powers off", RunCommand.Execute),
        new("boot", BootCommand.Usage, "boot the default guest: Debian's arm64 Linux with a busybox shell", BootCommand.Execute),
        new("dtb", DtbCommand.Usage, "write the device tree of the Linux guest platform", DtbCommand.Execute),
        new("bench", BenchCommand.Usage, "benchmark boot, exit latencies, CPU and kernel-heavy work against qemu-system-aarch64", BenchCommand.Execute),
        new("top", TopCommand.Usage, "show a running jit's live counters (MIPS, exits, TLB misses, tier 1)", TopCommand.Execute),
        new("disasm", DisasmCommand.Usage, "run a guest, then show hot compiled regions as A64, IL and x86-64", DisasmCommand.Execute),
        new("hypervisor", HypervisorCommand.Usage, "start, stop or ask about the hypervisor that runs domains in the background", HypervisorCommand.Execute),
        new("xl", Jit.Hypervisor.Toolstack.XlVerbs.Usage, "the toolstack: create, list, console, destroy … domains, as Xen's xl", XlCommand.Execute),
    ];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            var writer = args.Length == 0 ? stderr : stdout;
            PrintUsage(writer);
            return args.Length == 0 ? ExitCodes.BadInput : ExitCodes.Ok;
        }
        foreach (var c in Commands)
        {
            if (c.Name != args[0]) continue;
            try
            {
                return c.Run(args[1..], stderr);
            }
            catch (UsageError e)
            {
                stderr.WriteLine($"jit {c.Name}: {e.Message}");
                stderr.WriteLine($"usage: {c.Usage}");
                return ExitCodes.BadInput;
            }
        }
        stderr.WriteLine($"jit: unknown command '{args[0]}'");
        PrintUsage(stderr);
        return ExitCodes.BadInput;
    }

    private static void PrintUsage(TextWriter w)
    {
        w.WriteLine("usage: jit <command> [options]   (jit <command> --help for details)");
        foreach (var c in Commands) w.WriteLine($"  {c.Name,-8} {c.Summary}");
    }
}

/// <summary>A mistake on the command line: printed with the command's usage, exit code 2.</summary>
internal sealed class UsageError(string message) : Exception(message);
