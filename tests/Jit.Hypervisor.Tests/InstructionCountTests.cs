using System.Text;
using Jit.Hypervisor.Builder;
using Jit.Tool.Cli;

namespace Jit.Hypervisor.Tests;

/// <summary>
/// Instruction-count time (<c>--icount</c>) on the bare-metal machine: what the guest reads from the counter
/// depends on the instructions it retired and nothing else.
/// </summary>
public class InstructionCountTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static (RunResult Result, string Console) Run(string path, int? icount)
    {
        var console = new MemoryStream();
        using var machine = BareMetalMachine.Create(path, console, icountShift: icount);
        // Tier 1 on the vCPU's thread: a background compile would move block boundaries, where the counter is read.
        machine.Domain.JitOptions = Jit.Translator.JitOptions.Parse("tier1=sync");
        var result = machine.Run(Patience);
        return (result, Encoding.ASCII.GetString(console.ToArray()));
    }

    private static ulong Value(string console, string label) =>
        ulong.Parse(console.Split('\n').Single(l => l.StartsWith(label + " ", StringComparison.Ordinal))[(label.Length + 1)..]);

    [Fact]
    public void CounterReadsAreTheSameEveryRun()
    {
        string clock = TestProcess.Guest("clock", "clock.elf");
        var (first, a) = Run(clock, 4);
        var (second, b) = Run(clock, 4);
        Assert.Equal(RunEnd.PowerOff, first.End);
        Assert.Equal(a, b);
        Assert.Equal(first.Instructions, second.Instructions);
        Assert.True(Value(a, "second") > Value(a, "first"), a);
        // Four times the time per instruction, four times the ticks: the reads land on the same instructions.
        var (_, slow) = Run(clock, 6);
        Assert.Equal(4 * Value(a, "first"), Value(slow, "first"));
        Assert.Equal(4 * Value(a, "second"), Value(slow, "second"));
    }

    [Fact]
    public void WfiWithNothingToWakeItEndsTheRunAsIdle()
    {
        string dir = Directory.CreateTempSubdirectory("jit-icount-").FullName;
        try
        {
            string wfi = Path.Combine(dir, "wfi.bin");
            File.WriteAllBytes(wfi, [0x7F, 0x20, 0x03, 0xD5, 0xFF, 0xFF, 0xFF, 0x17]);   // wfi; b .-4
            var (result, _) = Run(wfi, 4);
            Assert.Equal(RunEnd.Idle, result.End);

            var err = new StringWriter();
            Assert.Equal(CommandLine.ExitCodes.Failure, CommandLine.Run(["run", "--bare", wfi, "--icount"], TextWriter.Null, err));
            Assert.Contains("the guest is idle forever", err.ToString());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void SecondVcpuIsRefused()
    {
        using var domain = new Domain("icount", new Jit.Runtime.Timers.InstructionCounter());
        domain.AddVcpu();
        Assert.Throws<InvalidOperationException>(() => domain.AddVcpu());
    }
}
