using System.Diagnostics;
using System.Text;
using Jit.Hypervisor.Builder;
using Xunit.Abstractions;

namespace Jit.Hypervisor.Tests.SystemGuests;

/// <summary>
/// Issue 15's malformed-input check: guests/sys/pcihostile programs the PCIe functions, their virtqueues and
/// MSI-X tables, the ITS and the redistributors' LPI registers with random and hostile values (10^5 operations
/// from a fixed seed), then checks a canary region it never handed to a device and that a well-behaved driver
/// still gets a disk read, entropy and an MSI through the ITS. The emulator must neither crash nor hang, the
/// disk image keeps its size, and a neighbouring domain runs on untouched.
/// </summary>
public class PciHostileGuestTests(ITestOutputHelper output)
{
    private const int Operations = 100_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(150);

    [Fact]
    public void HostileGuestOnJitRunCrashesNothingAndItsCanarySurvives()
    {
        string elf = TestProcess.Guest("pcihostile", "sys-pcihostile.elf");
        using var disk = new ScratchDisk();
        var clock = Stopwatch.StartNew();
        var run = TestProcess.Jit(["run", "--kernel", elf, "--disk", disk.Path, "--virtio-rng", "--smp", "2", "--timeout", "120",
            "--append", $"hostile.seed=1 hostile.ops={Operations}"], Patience);
        output.WriteLine($"jit run: {clock.Elapsed.TotalSeconds:F1} s wall");
        foreach (string line in run.Stdout.Split('\n').Where(l => l.StartsWith("HOSTILE", StringComparison.Ordinal) || l.StartsWith("final", StringComparison.Ordinal)
                     || l.StartsWith("hostile: milli", StringComparison.Ordinal)))
            output.WriteLine(line.TrimEnd());

        Assert.True(run.ExitCode == 0, $"jit exited with {run.ExitCode}:\n{run.Stdout}\n--- stderr ---\n{run.Stderr}");
        AssertHealthy(run.Stdout);
        Assert.DoesNotContain("emulator failure", run.Stderr);
        Assert.DoesNotContain("Unhandled exception", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr); // no stack trace
        // The guest may write the disk through valid requests, never past its end.
        Assert.Equal(ScratchDisk.Size, new FileInfo(disk.Path).Length);
    }

    /// <summary>
    /// Two domains in one process, as the hypervisor runs them: sys-isolation-fill fills its RAM with a pattern
    /// and checks it every second while the hostile guest runs beside it; it keeps reporting, intact, afterwards.
    /// </summary>
    [Fact]
    public void ANeighbourDomainRunsOnIntactBesideTheHostileGuest()
    {
        string hostileElf = TestProcess.Guest("pcihostile", "sys-pcihostile.elf");
        string fillElf = TestProcess.Guest("isolation", "sys-isolation-fill.elf");
        using var disk = new ScratchDisk();
        var fillConsole = new ConsoleLines();
        var hostileConsole = new ConsoleLines();
        using var fill = LinuxMachine.Create(new LinuxOptions(fillElf, null, "console=ttyAMA0", 64UL << 20, 1), fillConsole, domid: 1, name: "fill");
        using var hostile = LinuxMachine.Create(new LinuxOptions(hostileElf, null, $"hostile.seed=2 hostile.ops={Operations / 4}", 256UL << 20, 2,
            Disks: [new LinuxDisk(disk.Path, ReadOnly: false)], Entropy: true), hostileConsole, domid: 2, name: "hostile");

        RunResult fillResult = default;
        var fillRunner = new Thread(() => fillResult = fill.Run(Patience)) { IsBackground = true, Name = "fill" };
        fillRunner.Start();
        try
        {
            fillConsole.WaitFor("filled", 1, Patience);
            RunResult hostileResult = hostile.Run(TimeSpan.FromSeconds(120));
            output.WriteLine($"hostile: {hostileResult.End}, {hostileResult.Instructions:N0} instructions in {hostileResult.WallTime.TotalSeconds:F1} s");
            Assert.Equal(RunEnd.PowerOff, hostileResult.End);
            AssertHealthy(hostileConsole.Text);

            // The neighbour reports twice more after the hostile guest is gone, and never saw its RAM change.
            int rounds = ConsoleLines.Count(fillConsole.Text, "round ");
            fillConsole.WaitFor("round ", rounds + 2, TimeSpan.FromSeconds(30));
            Assert.Contains("intact", fillConsole.Text);
            Assert.DoesNotContain("CHANGED", fillConsole.Text);
        }
        finally
        {
            fill.Interrupt();
            fillRunner.Join();
        }
        Assert.Equal(RunEnd.Interrupted, fillResult.End);
        Assert.Equal(ScratchDisk.Size, new FileInfo(disk.Path).Length);
    }

    private static void AssertHealthy(string console)
    {
        Assert.Contains("HOSTILE-SUMMARY ops=", console);
        Assert.Contains("final: virtio-blk read ok", console);
        Assert.Contains("MSI-X through the ITS ok", console);
        Assert.Contains("final: virtio-rng ok", console);
        Assert.Contains("HOSTILE-DONE canary=ok", console);
        Assert.DoesNotContain("FAIL", console);
    }

    /// <summary>A 1 MiB raw image whose every 8 bytes say where they are, deleted afterwards.</summary>
    private sealed class ScratchDisk : IDisposable
    {
        public const long Size = 1 << 20;

        public ScratchDisk()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"jit-pcihostile-{Guid.NewGuid():N}.img");
            var bytes = new byte[Size];
            for (int i = 0; i < Size; i += 8) BitConverter.TryWriteBytes(bytes.AsSpan(i), 0xD15C_0000_0000_0000UL | (uint)i);
            File.WriteAllBytes(Path, bytes);
        }

        public string Path { get; }

        public void Dispose() => File.Delete(Path);
    }

    /// <summary>A console that keeps what the guest printed, readable while the guest runs.</summary>
    private sealed class ConsoleLines : Stream
    {
        private readonly StringBuilder text = new();

        public string Text { get { lock (text) return text.ToString(); } }

        public static int Count(string text, string what)
        {
            int n = 0;
            for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal)) n++;
            return n;
        }

        public void WaitFor(string what, int times, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (Count(Text, what) < times)
            {
                Assert.True(clock.Elapsed < timeout, $"'{what}' x{times} not printed after {timeout.TotalSeconds} s:\n{Text}");
                Thread.Sleep(50);
            }
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (text) text.Append(Encoding.ASCII.GetString(buffer, offset, count));
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
