using Jit.Hypervisor.Tracing;

namespace Jit.Hypervisor.Tests.Tracing;

/// <summary><c>--trace</c>: QEMU -d style logs of guest events, on the console's stderr or in a file.</summary>
public class TraceOptionTests
{
    [Fact]
    public void IntMmioAndSmcOnASystemGuest()
    {
        string elf = TestProcess.Guest("sys-gic", "sys-gic.elf");
        var r = TestProcess.Jit(["run", "--kernel", elf, "--trace", "int,mmio,smc", "--timeout", "60"], TimeSpan.FromSeconds(120));
        Assert.True(r.ExitCode == 0, $"jit exited with {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
        var lines = r.Stderr.Split('\n');
        // The guest takes SGIs (gic.c), polls the UART's flag register before each character, and powers off.
        Assert.Contains(lines, l => l.StartsWith("int: vcpu0 irq ELR=0x", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("mmio: read 4 0x22000018 (pl011+0x18) -> 0x", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("mmio: write 4 0x3001000 (gicv3-distributor+0x0) <- 0x", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("smc: d0 vcpu0 hvc fid=0x84000008 (standard secure service) permitted ", StringComparison.Ordinal) && System.Text.RegularExpressions.Regex.IsMatch(l, @" in \d+ ns$"));
        Assert.DoesNotContain(lines, l => l.StartsWith("in_asm:", StringComparison.Ordinal) || l.StartsWith("exec:", StringComparison.Ordinal));
    }

    [Fact]
    public void InAsmAndExecToAFile()
    {
        string elf = TestProcess.Guest("hello", "hello.elf");
        string file = Path.Combine(Path.GetTempPath(), $"jit-trace-{Guid.NewGuid():N}.txt");
        try
        {
            var r = TestProcess.Jit(["run", "--bare", elf, "--trace", $"in_asm,exec,file={file}"], TimeSpan.FromSeconds(60));
            Assert.True(r.ExitCode == 0, $"jit exited with {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
            Assert.Equal("Hello from AArch64\n", r.Stdout);
            Assert.DoesNotContain("in_asm:", r.Stderr);
            string trace = File.ReadAllText(file);
            Assert.Contains("in_asm: vcpu0 block pc=0x40000000 pa=0x40000000 n=", trace);
            // hello.S starts by loading the UART's address, disassembled as objdump prints it.
            Assert.Contains("0x0000000040000000:  d2a44001  mov\tx1, #0x22000000", trace);
            Assert.Contains("exec: vcpu0 pc=0x40000000 pa=0x40000000", trace);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("int", TraceKinds.Int, null)]
    [InlineData("in_asm,exec,int,mmio,smc,file=t.log", TraceKinds.InAsm | TraceKinds.Exec | TraceKinds.Int | TraceKinds.Mmio | TraceKinds.Smc, "t.log")]
    public void ParsesKindsAndFile(string spec, TraceKinds kinds, string? file)
    {
        var parsed = GuestTrace.Parse(spec, out string? error);
        Assert.Null(error);
        Assert.Equal((kinds, file), parsed);
    }

    [Theory]
    [InlineData("bogus", "unknown trace kind 'bogus'")]
    [InlineData("file=x", "no trace kind given")]
    [InlineData("int,file=", "file= needs a path")]
    public void RejectsBadSpecs(string spec, string message)
    {
        Assert.Null(GuestTrace.Parse(spec, out string? error));
        Assert.Contains(message, error);
    }
}
