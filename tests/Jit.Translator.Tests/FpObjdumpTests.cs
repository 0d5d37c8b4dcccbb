using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Jit.Translator.Decoder;
using Jit.Translator.Disassembler;
using Xunit.Abstractions;

namespace Jit.Translator.Tests;

/// <summary>
/// Random words of every scalar FP and SIMD&amp;FP load/store row, disassembled by us and by objdump: busybox
/// uses only a few of these forms, so each row gets its own sample here.
/// </summary>
public partial class FpObjdumpTests(ITestOutputHelper output)
{
    private const int WordsPerRow = 300;

    [Fact]
    public void FpRowsDisassembleAsObjdumpDoes()
    {
        var rng = new Random(4242);
        var words = new List<uint>();
        foreach (var row in A64TableFp.Rows)
        {
            int made = 0;
            for (int tries = 0; made < WordsPerRow && tries < WordsPerRow * 50; tries++)
            {
                uint w = row.Value | ((uint)rng.NextInt64(0, 1L << 32) & ~row.Mask);
                if (A64Decoder.Decode(w) != row) continue;
                words.Add(w);
                made++;
            }
            Assert.True(made > 0, $"no word decodes as {row}");
        }

        string file = Path.Combine(Path.GetTempPath(), $"jit-fp-{Environment.ProcessId}.bin");
        try
        {
            File.WriteAllBytes(file, words.SelectMany(BitConverter.GetBytes).ToArray());
            var start = new ProcessStartInfo("aarch64-linux-gnu-objdump", ["-D", "-b", "binary", "-m", "aarch64", file])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var p = Process.Start(start)!;
            string listing = p.StandardOutput.ReadToEnd();
            p.WaitForExit();

            var mismatches = new List<string>();
            int compared = 0;
            foreach (var line in listing.Split('\n'))
            {
                var m = Line().Match(line);
                if (!m.Success) continue;
                ulong pc = ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                uint word = uint.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                string expected = m.Groups[3].Value, actual = A64Disassembler.Disassemble(word, pc);
                compared++;
                if (Normalise(expected) != Normalise(actual))
                    mismatches.Add($"{word:x8} {A64Decoder.Decode(word).Op}: objdump \"{expected}\" ours \"{actual}\"");
            }
            output.WriteLine($"compared {compared} words of {A64TableFp.Rows.Length} rows, {mismatches.Count} mismatches");
            foreach (var m in mismatches.Take(60)) output.WriteLine(m);
            Assert.Equal(words.Count, compared);
            Assert.Empty(mismatches);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Normalise(string text) => Blanks().Replace(Symbol().Replace(text, ""), " ").Trim();

    [GeneratedRegex(@"^\s*([0-9a-f]+):\t([0-9a-f]{8}) \t(.*)$")]
    private static partial Regex Line();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Blanks();

    [GeneratedRegex(@" <[^>]*>")]
    private static partial Regex Symbol();
}
