using System.Text;
using System.Text.RegularExpressions;
using Jit.Hypervisor.Builder;
using Jit.Tool.Cli;

namespace Jit.Hypervisor.Tests;

/// <summary>Whole guests on the bare-metal machine, as <c>jit run --bare</c> runs them.</summary>
public class EndToEndTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>A guest from guests/build, which scripts/test.sh builds before the tests run.</summary>
    private static string Guest(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (!File.Exists(Path.Combine(d.FullName, "Jit.sln"))) continue;
            string path = Path.Combine(d.FullName, "guests", "build", name);
            Assert.True(File.Exists(path), $"{path} is missing: build the guests first (make -C guests)");
            return path;
        }
        throw new InvalidOperationException("repository root (Jit.sln) not found above the test binaries");
    }

    private static (RunResult Result, string Console) Run(string path, TimeSpan? timeout = null)
    {
        var console = new MemoryStream();
        using var machine = BareMetalMachine.Create(path, console);
        var result = machine.Run(timeout ?? Patience);
        return (result, Encoding.ASCII.GetString(console.ToArray()));
    }

    [Fact]
    public void HelloPrintsAndPowersOff()
    {
        var (result, console) = Run(Guest("hello.elf"));
        Assert.Equal("Hello from AArch64\n", console);
        Assert.Equal(RunEnd.PowerOff, result.End);
        Assert.True(result.Instructions > 20);
    }

    [Fact]
    public void GarbageSurvivesItsRandomWords()
    {
        var (result, console) = Run(Guest("garbage.elf"));
        Assert.Equal(RunEnd.PowerOff, result.End);
        var m = Regex.Match(console, @"^garbage: (\d+) exceptions, survived\n$");
        Assert.True(m.Success, $"unexpected console output: {console}");
        // Most filtered random words are unallocated or fault (QEMU's Cortex-A57 model counts 3457 of 4096).
        Assert.InRange(int.Parse(m.Groups[1].Value), 1000, 4096);
    }

    [Fact]
    public void CrcPrintsTheSameResultAsTheLinuxBuild()
    {
        var (result, console) = Run(Guest("crc.elf"));
        Assert.Equal(RunEnd.PowerOff, result.End);
        // The Linux build of the same source under qemu-aarch64 prints this line.
        Assert.Equal("crc32 15c18e1f sort 5cf96fc4 ok\n", console);
    }

    [Fact]
    public void AGuestSpinningForeverIsEndedByTheTimeout()
    {
        string dir = Directory.CreateTempSubdirectory("jit-e2e-").FullName;
        try
        {
            string spin = Path.Combine(dir, "spin.bin");
            File.WriteAllBytes(spin, BitConverter.GetBytes(0x14000000u));   // b .
            var err = new StringWriter();
            int rc = CommandLine.Run(["run", "--bare", spin, "--timeout", "0.3"], TextWriter.Null, err);
            Assert.Equal(CommandLine.ExitCodes.Timeout, rc);
            Assert.Contains("jit: timeout: the guest was still running after 0.3 s", err.ToString());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string FlatGuest(params uint[] words)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("jit-e2e-").FullName, "guest.bin");
        File.WriteAllBytes(path, words.SelectMany(BitConverter.GetBytes).ToArray());
        return path;
    }

    [Fact]
    public void InterruptEndsASpinningGuest()
    {
        string path = FlatGuest(0x14000000);   // b .
        try
        {
            using var machine = BareMetalMachine.Create(path, new MemoryStream());
            using var ctrlC = new Timer(_ => machine.Interrupt(), null, 200, Timeout.Infinite);
            Assert.Equal(RunEnd.Interrupted, machine.Run(Patience).End);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, true);
        }
    }

    [Fact]
    public void AVcpuParkedInWfiIsWokenByTheTimeout()
    {
        string path = FlatGuest(0xD503207F, 0x17FFFFFF);   // wfi; b .-4
        try
        {
            using var machine = BareMetalMachine.Create(path, new MemoryStream());
            var result = machine.Run(TimeSpan.FromMilliseconds(300));
            Assert.Equal(RunEnd.Timeout, result.End);
            // Parked, not spinning: a handful of instructions, not millions.
            Assert.InRange(result.Instructions, 0UL, 1000UL);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, true);
        }
    }

    [Fact]
    public void TheInstructionLimitEndsARun()
    {
        var (result, _) = Run(Guest("crc.elf"), Patience);
        Assert.Equal(RunEnd.PowerOff, result.End);
        var console = new MemoryStream();
        using var machine = BareMetalMachine.Create(Guest("crc.elf"), console);
        var limited = machine.Run(Patience, maxInstructions: result.Instructions / 2);
        Assert.Equal(RunEnd.InstructionLimit, limited.End);
        Assert.InRange(limited.Instructions, result.Instructions / 2, result.Instructions - 1);
    }
}
