using System.Buffers.Binary;
using System.Diagnostics;

namespace Jit.Differential.Tests;

/// <summary>
/// The reference side: guests/build/difftest under qemu-aarch64, fed a batch of cases on stdin while the
/// results stream back on stdout.
/// </summary>
public sealed class QemuHarness : IDisposable
{
    private static readonly object buildLock = new();
    private static string? builtPath;

    private readonly Process process;
    private readonly Stream output;
    private readonly Task writer;
    private readonly System.Text.StringBuilder stderr = new();

    /// <summary>The repository root: the nearest directory upwards that holds Jit.sln.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Jit.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Jit.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Builds the harness once per test run (make decides whether anything is stale).</summary>
    public static string EnsureBuilt()
    {
        lock (buildLock)
        {
            if (builtPath is not null) return builtPath;
            string[] missing = [.. new[] { "make", "aarch64-linux-gnu-gcc", "qemu-aarch64" }.Where(t => !OnPath(t))];
            if (missing.Length > 0)
                throw new InvalidOperationException(
                    $"the differential tests need {string.Join(", ", missing)} (Debian: apt-get install make gcc-aarch64-linux-gnu qemu-user)");
            string guests = Path.Combine(RepoRoot(), "guests");
            var (code, text) = RunTool("make", $"-C \"{guests}\" difftest");
            if (code != 0) throw new InvalidOperationException($"make -C guests difftest failed ({code}):\n{text}");
            string path = Path.Combine(guests, "build", "difftest");
            if (!File.Exists(path)) throw new InvalidOperationException($"make did not produce {path}");
            return builtPath = path;
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, tool)));

    public static (int Code, string Output) RunTool(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var err = p.StandardError.ReadToEndAsync();
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text + err.Result);
    }

    public QemuHarness(IReadOnlyList<TestCase> cases)
    {
        string harness = EnsureBuilt();
        var psi = new ProcessStartInfo("qemu-aarch64", $"\"{harness}\"")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start qemu-aarch64");
        process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        output = new BufferedStream(process.StandardOutput.BaseStream, 1 << 16);

        Span<byte> hello = stackalloc byte[16];
        ReadExactly(hello, "hello");
        if (BinaryPrimitives.ReadUInt32LittleEndian(hello) != Protocol.HelloMagic ||
            BinaryPrimitives.ReadUInt32LittleEndian(hello[4..]) != Protocol.Version ||
            BinaryPrimitives.ReadUInt64LittleEndian(hello[8..]) != Protocol.RegionBase)
            throw new InvalidOperationException("the difftest harness speaks another protocol version: rebuild guests/");

        var input = process.StandardInput.BaseStream;
        writer = Task.Run(() =>
        {
            try
            {
                using var buffered = new BufferedStream(input, 1 << 16);
                foreach (var c in cases) Write(buffered, c);
                Span<byte> end = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(end, Protocol.EndMagic);
                buffered.Write(end);
            }
            catch (IOException)
            {
                // The harness died; the reader reports it with its stderr.
            }
            finally
            {
                input.Close();
            }
        });
    }

    private static void Write(Stream s, TestCase c)
    {
        int words = c.Chunks.Sum(k => k.Words.Length);
        var buf = new byte[8 + 8 * Protocol.RegsWords + 8 * c.Chunks.Count + 4 * words + c.Scratch.Length];
        var span = buf.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Protocol.CaseMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], (ushort)c.Chunks.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(span[6..], (ushort)c.Scratch.Length);
        int at = 8;
        for (int i = 0; i < 31; i++, at += 8) BinaryPrimitives.WriteUInt64LittleEndian(span[at..], c.X[i]);
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], c.Sp);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(at + 8)..], c.Nzcv);
        int regs = 8;
        BinaryPrimitives.WriteUInt64LittleEndian(span[(regs + Protocol.RegsFpcr)..], c.Fpcr);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(regs + Protocol.RegsFpsr)..], c.Fpsr);
        for (int i = 0; i < 64; i++) BinaryPrimitives.WriteUInt64LittleEndian(span[(regs + Protocol.RegsV + 8 * i)..], c.V[i]);
        at = regs + 8 * Protocol.RegsWords;
        foreach (var chunk in c.Chunks)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[at..], chunk.Offset);
            BinaryPrimitives.WriteUInt32LittleEndian(span[(at + 4)..], (uint)chunk.Words.Length);
            at += 8;
            foreach (uint w in chunk.Words)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span[at..], w);
                at += 4;
            }
        }
        c.Scratch.CopyTo(span[at..]);
        s.Write(buf);
    }

    /// <summary>The result of the next case, in the order the cases were given.</summary>
    public Outcome ReadResult(TestCase c)
    {
        Span<byte> head = stackalloc byte[24 + 8 * Protocol.RegsWords];
        ReadExactly(head, $"the result of case {c.Index}");
        if (BinaryPrimitives.ReadUInt32LittleEndian(head) != Protocol.ResultMagic)
            throw new InvalidOperationException($"bad result magic for case {c.Index}");
        var o = new Outcome();
        uint status = BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
        if (status != 0)
        {
            ulong pc = BinaryPrimitives.ReadUInt64LittleEndian(head[8..]);
            ulong addr = BinaryPrimitives.ReadUInt64LittleEndian(head[16..]);
            o.Stop = $"signal {status} at pc 0x{pc:x}, fault address 0x{addr:x}";
        }
        int at = 24;
        for (int i = 0; i < 31; i++, at += 8) o.X[i] = BinaryPrimitives.ReadUInt64LittleEndian(head[at..]);
        o.Sp = BinaryPrimitives.ReadUInt64LittleEndian(head[at..]);
        o.Nzcv = BinaryPrimitives.ReadUInt64LittleEndian(head[(at + 8)..]);
        var regs = head[24..];
        o.Fpcr = BinaryPrimitives.ReadUInt64LittleEndian(regs[Protocol.RegsFpcr..]);
        o.Fpsr = BinaryPrimitives.ReadUInt64LittleEndian(regs[Protocol.RegsFpsr..]);
        for (int i = 0; i < 64; i++) o.V[i] = BinaryPrimitives.ReadUInt64LittleEndian(regs[(Protocol.RegsV + 8 * i)..]);
        o.Scratch = new byte[c.Scratch.Length];
        ReadExactly(o.Scratch, $"the scratch of case {c.Index}");
        return o;
    }

    private void ReadExactly(Span<byte> buf, string what)
    {
        int done = 0;
        while (done < buf.Length)
        {
            int n = output.Read(buf[done..]);
            if (n == 0)
            {
                process.WaitForExit(5000);
                string err;
                lock (stderr) err = stderr.ToString();
                throw new InvalidOperationException(
                    $"qemu-aarch64 difftest ended before {what} (exit {(process.HasExited ? process.ExitCode : -1)}): {err}");
            }
            done += n;
        }
    }

    public void Dispose()
    {
        try
        {
            // After the last result the harness has read the end marker and exits at once; a batch abandoned
            // half way (an exception on our side) leaves it blocked on a full pipe instead.
            if (!process.WaitForExit(2000)) process.Kill();
            writer.Wait(TimeSpan.FromSeconds(5));
        }
        finally
        {
            process.Dispose();
        }
    }
}
