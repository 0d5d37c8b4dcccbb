using System.Globalization;
using System.Runtime.InteropServices;
using Jit.Hypervisor.Builder;

namespace Jit.Hypervisor.Cli;

/// <summary><c>jit run</c>: runs one guest in the foreground with its console on stdout.</summary>
internal static class RunCommand
{
    public const string Usage =
        "jit run --bare <file.elf|file.bin> [--mem SIZE] [--timeout SECONDS] [--max-instructions N]";

    private const string Help = """
        Runs a bare-metal AArch64 program on a minimal machine: RAM at 0x40000000 (default 128M), a PL011
        UART at 0x22000000 printing to stdout, PSCI 1.1 over HVC #0. An ELF64 executable is loaded at the
        physical addresses of its PT_LOAD segments and entered at e_entry; any other file is a flat binary
        loaded and entered at 0x40000000. The vCPU starts at EL1h with the MMU off, DAIF masked and all
        general-purpose registers (and SP) zero.

          --mem SIZE            RAM size, e.g. 64M or 1G (at most 3G)
          --timeout SECONDS     stop the guest after this much wall time
          --max-instructions N  stop after about N guest instructions (k, M, G suffixes)

        Exit codes: 0 the guest called PSCI SYSTEM_OFF; 1 it stopped otherwise (CPU_OFF, instruction limit,
        emulator failure); 2 bad command line or image; 3 the guest called SYSTEM_RESET; 124 timeout;
        130 interrupted (Ctrl-C). Statistics (instructions, wall time, MIPS) go to stderr.
        """;

    public static int Execute(string[] args, TextWriter stderr)
    {
        string? bare = null;
        ulong mem = BareMetalMachine.DefaultRamSize;
        TimeSpan? timeout = null;
        ulong maxInstructions = ulong.MaxValue;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help":
                    Console.Out.WriteLine($"usage: {Usage}");
                    Console.Out.WriteLine();
                    Console.Out.WriteLine(Help);
                    return CommandLine.ExitCodes.Ok;
                case "--bare": bare = Options.Value(args, ref i); break;
                case "--mem": mem = Options.Size("--mem", Options.Value(args, ref i)); break;
                case "--timeout": timeout = Options.Seconds("--timeout", Options.Value(args, ref i)); break;
                case "--max-instructions": maxInstructions = Options.Count("--max-instructions", Options.Value(args, ref i)); break;
                case "--kernel":
                    throw new UsageError("--kernel is not implemented yet; only --bare programs run so far");
                default:
                    throw new UsageError(args[i].StartsWith('-') ? $"unknown option {args[i]}" : $"unexpected argument '{args[i]}'");
            }
        }
        if (bare is null) throw new UsageError("nothing to run: give --bare <file>");
        if (mem < 4096 || mem % 4096 != 0 || mem > BareMetalMachine.MaxRamSize)
            throw new UsageError($"--mem must be a multiple of 4K between 4K and 3G");

        using var console = new BufferedStream(Console.OpenStandardOutput(), 4096);
        BareMetalMachine machine;
        try
        {
            machine = BareMetalMachine.Create(bare, console, mem);
        }
        catch (ImageError e)
        {
            stderr.WriteLine($"jit: {e.Message}");
            return CommandLine.ExitCodes.BadInput;
        }

        using (machine)
        using (OnSignal(PosixSignal.SIGINT, machine))
        using (OnSignal(PosixSignal.SIGTERM, machine))
        {
            RunResult result;
            try
            {
                result = machine.Run(timeout, maxInstructions);
            }
            catch (Exception e)
            {
                // An emulator bug, not the guest's fault: one line, the stack only on request.
                stderr.WriteLine($"jit: emulator failure at guest PC 0x{machine.Vcpu.PcForDiagnostics:x}: {e.GetType().Name}: {e.Message}");
                if (Environment.GetEnvironmentVariable("JIT_STACK_TRACES") == "1") stderr.WriteLine(e);
                return CommandLine.ExitCodes.Failure;
            }
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"jit: {result.Instructions:N0} instructions in {result.WallTime.TotalSeconds:F3} s, {result.Mips:F1} MIPS"));
            switch (result.End)
            {
                case RunEnd.PowerOff:
                    return CommandLine.ExitCodes.Ok;
                case RunEnd.Reset:
                    stderr.WriteLine("jit: the guest requested a system reset (PSCI SYSTEM_RESET); bare-metal runs do not restart");
                    return CommandLine.ExitCodes.GuestReset;
                case RunEnd.AllVcpusOff:
                    stderr.WriteLine("jit: the guest turned off its last vCPU (PSCI CPU_OFF) without SYSTEM_OFF");
                    return CommandLine.ExitCodes.Failure;
                case RunEnd.Timeout:
                    stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"jit: timeout: the guest was still running after {timeout!.Value.TotalSeconds:0.###} s"));
                    return CommandLine.ExitCodes.Timeout;
                case RunEnd.InstructionLimit:
                    stderr.WriteLine($"jit: instruction limit reached: the guest was still running after {maxInstructions} instructions");
                    return CommandLine.ExitCodes.Failure;
                default:
                    stderr.WriteLine("jit: interrupted");
                    return CommandLine.ExitCodes.Interrupted;
            }
        }
    }

    /// <summary>
    /// The first signal stops the guest cleanly (the vCPU leaves at its next check and the console is flushed);
    /// a second one, if the guest did not stop, gets the default action so the user is never stuck.
    /// </summary>
    private static PosixSignalRegistration OnSignal(PosixSignal signal, BareMetalMachine machine)
    {
        int count = 0;
        return PosixSignalRegistration.Create(signal, ctx =>
        {
            if (Interlocked.Increment(ref count) > 1) return;
            ctx.Cancel = true;
            machine.Interrupt();
        });
    }
}
