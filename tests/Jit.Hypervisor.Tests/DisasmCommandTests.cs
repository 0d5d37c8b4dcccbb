using System.Text.Json;
using System.Text.RegularExpressions;
using Jit.Tool.Cli;

namespace Jit.Hypervisor.Tests;

/// <summary>The runtime's JIT events are process-wide; disasm runs read them one at a time.</summary>
[CollectionDefinition(nameof(DisasmCommandTests))]
public sealed class DisasmCollection;

/// <summary><c>jit disasm</c> on a bare-metal counted loop whose every word is known.</summary>
[Collection(nameof(DisasmCommandTests))]
public sealed class DisasmCommandTests : IDisposable
{
    // mov x0, #0; mov x1, #1000; 1: add x0, x0, x1; subs x1, x1, #1; b.ne 1b; PSCI SYSTEM_OFF over hvc #0; b .
    private static readonly uint[] Program =
        [0xd2800000, 0xd2807d01, 0x8b010000, 0xf1000421, 0x54ffffc1, 0x52800100, 0x72b08000, 0xd4000002, 0x14000000];

    private readonly string dir = Directory.CreateTempSubdirectory("jit-disasm-").FullName;
    private readonly string guest;

    public DisasmCommandTests()
    {
        guest = Path.Combine(dir, "loop.bin");
        File.WriteAllBytes(guest, Program.SelectMany(BitConverter.GetBytes).ToArray());
    }

    public void Dispose() => Directory.Delete(dir, true);

    private static (int Rc, string Out, string Err) Disasm(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc;
        try
        {
            rc = DisasmCommand.Execute(args, stdout, stderr);
        }
        catch (UsageError e)
        {
            // CommandLine.Run turns these into exit code 2; the message is what a user reads.
            return (CommandLine.ExitCodes.BadInput, "", e.Message);
        }
        return (rc, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void HottestBlockIsTheLoopInA64IlAndX86()
    {
        var (rc, output, err) = Disasm("--bare", guest, "--hot", "1");
        Assert.True(rc == 0, err);
        Assert.Contains("=== a64_40000008: PA 0x40000008, VA 0x40000008, entered 501 times (1 of 1) ===", output);
        Assert.Contains("""
              40000008:  8b010000  add	x0, x0, x1
              4000000c:  f1000421  subs	x1, x1, #0x1
              40000010:  54ffffc1  b.ne	0x40000008  // b.any

            """.Replace("\r", ""), output);
        Assert.Contains("--- A64: 3 instructions ---", output);

        string il = Section(output, "--- IL:");
        Assert.Matches(@"(?m)^  IL_[0-9a-f]{4}  ret$", il);
        Assert.Matches(@"(?m)^L\d+:", il);

        string host = Section(output, "--- x86-64:");
        var lines = host.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("  +")).ToList();
        Assert.True(lines.Count >= 3, host);
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^  \+[0-9a-f]{4}  c3 +ret$"));
        // RyuJIT may place a cold block after the last ret; then the method ends in a jump back.
        Assert.Matches(@"^  \+[0-9a-f]{4}  [0-9a-f]+ +(ret|jmp +\+[0-9a-f]{4})$", lines[^1]);
        Assert.Matches(@"--- 3 guest instructions; IL \d+ ops, \d+ bytes; host \d+ bytes, \d+ instructions; [\d.]+ host bytes and [\d.]+ host instructions per guest instruction ---", output);
        Assert.Contains("jit disasm: 3,005 instructions", err);
        Assert.Contains("the guest powered off", err);
    }

    /// <summary>The text between a section's header and the next header.</summary>
    private static string Section(string output, string header)
    {
        int start = output.IndexOf(header, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no '{header}' section in:\n{output}");
        int end = output.IndexOf("\n---", start + header.Length, StringComparison.Ordinal);
        return output[start..(end < 0 ? output.Length : end + 1)];
    }

    [Fact]
    public void JsonCarriesTheFiguresPerRegion()
    {
        var (rc, output, err) = Disasm("--bare", guest, "--hot", "5", "--json");
        Assert.True(rc == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(guest, root.GetProperty("guest").GetString());
        Assert.Equal(3005UL, root.GetProperty("instructions").GetUInt64());
        Assert.Contains("tier1=sync", root.GetProperty("jit").GetString());
        // Only the loop is entered often enough to be compiled.
        var region = Assert.Single(root.GetProperty("regions").EnumerateArray());
        Assert.Equal("a64_40000008", region.GetProperty("name").GetString());
        Assert.Equal("0x40000008", region.GetProperty("pa").GetString());
        // Entries through the dispatcher: 500 interpreted, then one into the region that runs the rest of the loop.
        Assert.Equal(501UL, region.GetProperty("entries").GetUInt64());
        Assert.Equal(3, region.GetProperty("guestInstructions").GetInt32());
        int hostBytes = region.GetProperty("hostBytes").GetInt32(), hostInstructions = region.GetProperty("hostInstructions").GetInt32();
        Assert.True(hostInstructions >= 3 && hostBytes > hostInstructions, output);
        Assert.True(region.GetProperty("ilOps").GetInt32() > 0 && region.GetProperty("ilBytes").GetInt32() > 0, output);
        Assert.Equal(Math.Round(hostBytes / 3.0, 3), region.GetProperty("hostBytesPerGuestInstruction").GetDouble());
        Assert.Equal(Math.Round(hostInstructions / 3.0, 3), region.GetProperty("hostInstructionsPerGuestInstruction").GetDouble());
    }

    [Fact]
    public void AnAddressInsideACompiledBlockShowsThatBlock()
    {
        var (rc, output, err) = Disasm("--bare", guest, "--at", "4000000c");
        Assert.True(rc == 0, err);
        Assert.Contains("=== a64_40000008: PA 0x40000008", output);
    }

    [Fact]
    public void ABlockThatStayedInterpretedIsNamed()
    {
        var (rc, output, err) = Disasm("--bare", guest, "--at", "0x40000000");
        Assert.Equal(CommandLine.ExitCodes.Failure, rc);
        Assert.Equal("", output);
        Assert.Contains("jit disasm: no compiled code at 0x40000000: the block there was entered once, not more than the threshold of 500", err);
    }

    [Fact]
    public void AnAddressTheGuestNeverRanIsNamed()
    {
        var (rc, _, err) = Disasm("--bare", guest, "--at", "0x50000000");
        Assert.Equal(CommandLine.ExitCodes.Failure, rc);
        Assert.Contains("jit disasm: no compiled code at 0x50000000: the guest never ran a block there", err);
    }

    [Fact]
    public void NothingCompiledBelowTheThreshold()
    {
        var (rc, _, err) = Disasm("--bare", guest, "--jit", "threshold=5000");
        Assert.Equal(CommandLine.ExitCodes.Failure, rc);
        Assert.Contains("jit disasm: no block was compiled: none was entered more than 5000 times", err);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        var err = new StringWriter();
        int rc = CommandLine.Run(["disasm", "--bare", Path.Combine(dir, "no-such.elf")], TextWriter.Null, err);
        Assert.Equal(CommandLine.ExitCodes.BadInput, rc);
        Assert.Matches($"^jit: {Regex.Escape(Path.Combine(dir, "no-such.elf"))}: no such file", err.ToString());
    }

    [Fact]
    public void ABadImageIsNamed()
    {
        string bad = Path.Combine(dir, "bad.elf");
        File.WriteAllBytes(bad, [0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 1, 1]);
        var err = new StringWriter();
        int rc = CommandLine.Run(["disasm", "--bare", bad], TextWriter.Null, err);
        Assert.Equal(CommandLine.ExitCodes.BadInput, rc);
        Assert.StartsWith($"jit: {bad}: ", err.ToString());
    }

    [Theory]
    [InlineData("give exactly one of --bare <file>, --kernel <Image>, boot or --pid PID")]
    [InlineData("give exactly one of --bare <file>, --kernel <Image>, boot or --pid PID", "--bare", "x.elf", "--kernel", "Image")]
    [InlineData("give --hot N or --at ADDR, not both", "--bare", "x.elf", "--hot", "2", "--at", "0x40000000")]
    [InlineData("--at 'here' is not a hexadecimal address", "--bare", "x.elf", "--at", "here")]
    [InlineData("--hot '0' is not a positive count", "--bare", "x.elf", "--hot", "0")]
    [InlineData("there is nothing to show with tier1=off", "--bare", "x.elf", "--jit", "tier1=off")]
    [InlineData("--initrd needs --kernel", "--bare", "x.elf", "--initrd", "i.cpio")]
    [InlineData("unknown option --fast", "--bare", "x.elf", "--fast")]
    [InlineData("give exactly one of --bare <file>, --kernel <Image>, boot or --pid PID", "--pid", "1", "--bare", "x.elf")]
    [InlineData("--until does not go with --pid", "--pid", "1", "--until", "BOOT-OK")]
    [InlineData("--pid 'me' is not a process id", "--pid", "me")]
    [InlineData("--seconds with --pid is at most 60", "--pid", "1", "--seconds", "61")]
    public void BadOptionsAreUsageErrors(string message, params string[] args)
    {
        var err = new StringWriter();
        int rc = CommandLine.Run(["disasm", .. args], TextWriter.Null, err);
        Assert.Equal(CommandLine.ExitCodes.BadInput, rc);
        Assert.StartsWith($"jit disasm: {message}", err.ToString());
        Assert.Contains("usage: jit disasm (--bare", err.ToString());
    }

    [Fact]
    public void APidThatIsNoRunningJitIsNamed()
    {
        var gone = Disasm("--pid", "999999999");
        Assert.Equal(CommandLine.ExitCodes.BadInput, gone.Rc);
        Assert.Contains("no process with id 999999999", gone.Err);

        // A process, but no jit running a guest. Not the test host: other tests run guests in it, and while one
        // does, it is a jit running a guest.
        using var sleeper = System.Diagnostics.Process.Start("sleep", "30");
        try
        {
            var other = Disasm("--pid", sleeper.Id.ToString());
            Assert.Equal(CommandLine.ExitCodes.BadInput, other.Rc);
            Assert.Contains($"process {sleeper.Id} is not a jit running a guest", other.Err);
        }
        finally
        {
            sleeper.Kill();
        }
    }

    [Fact]
    public void HelpListsTheCommand()
    {
        var err = new StringWriter();
        CommandLine.Run([], TextWriter.Null, err);
        Assert.Contains("disasm", err.ToString());
    }
}
