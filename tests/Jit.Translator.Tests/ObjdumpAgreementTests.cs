using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Jit.Translator.Decoder;
using Jit.Translator.Disassembler;
using Xunit.Abstractions;

namespace Jit.Translator.Tests;

/// <summary>
/// Disassembles all of Debian's arm64 busybox-static and compares every instruction with GNU objdump's text, the
/// disassembler's reference (docs: ARCHITECTURE.md, "Outside tools used as oracles"), except the FP/AdvSIMD/SVE
/// words that still decode to a catch-all row, which it counts.
/// </summary>
public partial class ObjdumpAgreementTests(ITestOutputHelper output)
{
    private const string Objdump = "aarch64-linux-gnu-objdump";

    [Fact]
    public void BusyboxDisassemblesAsObjdumpDoes()
    {
        string root = RepositoryRoot();
        string busybox = Run("bash", [Path.Combine(root, "scripts", "fetch-arm64.sh"), "busybox"], root,
            "fetching Debian's arm64 busybox-static (scripts/fetch-arm64.sh busybox) failed").Trim().Split('\n')[^1];
        Assert.True(File.Exists(busybox), $"scripts/fetch-arm64.sh printed \"{busybox}\", which does not exist");
        // With the raw words shown, one run gives both the input and the expected text.
        string listing = Run(Objdump, ["-d", busybox], root,
            $"{Objdump} is needed as the reference (Debian package binutils-aarch64-linux-gnu)");

        int compared = 0, fpCompared = 0, catchAll = 0;
        var catchAllMnemonics = new Dictionary<string, int>();
        var mismatches = new List<string>();
        foreach (var line in listing.AsSpan().EnumerateLines())
        {
            // "  400288:\t910003fd \tmov\tx29, sp"
            int colon = line.IndexOf(":\t");
            if (colon < 0 || line.Length < colon + 12 || line[colon + 10] != ' ') continue;
            if (!ulong.TryParse(line[..colon].Trim(), NumberStyles.HexNumber, null, out ulong pc)) continue;
            if (!uint.TryParse(line.Slice(colon + 2, 8), NumberStyles.HexNumber, null, out uint word)) continue;
            string expected = line[(colon + 12)..].ToString();
            if (IsFpSimdOrSve(word))
            {
                // FP/SIMD words are compared once a row decodes them; the catch-alls are counted.
                if (A64Decoder.Decode(word).Op is Op.SimdFp or Op.SimdFpLoadStore or Op.Sve or Op.Undefined)
                {
                    catchAll++;
                    string mnemonic = expected.Split('\t')[0];
                    catchAllMnemonics[mnemonic] = catchAllMnemonics.GetValueOrDefault(mnemonic) + 1;
                    continue;
                }
                fpCompared++;
            }
            compared++;
            string actual = A64Disassembler.Disassemble(word, pc);
            if (Normalise(actual) != Normalise(expected))
                mismatches.Add($"{pc:x}: {word:x8}  objdump \"{expected}\"  ours \"{actual}\"");
        }

        output.WriteLine($"compared {compared} instructions ({fpCompared} of them FP/AdvSIMD), {mismatches.Count} mismatches; " +
            $"{catchAll} FP/AdvSIMD/SVE instructions still decode to a catch-all");
        output.WriteLine("catch-all mnemonics (count mnemonic):");
        foreach (var (mnemonic, count) in catchAllMnemonics.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal))
            output.WriteLine($"  {count,6} {mnemonic}");
        foreach (var m in mismatches.Take(50)) output.WriteLine(m);
        Assert.True(compared > 100_000, $"only {compared} instructions were compared: is the objdump listing complete?");
        Assert.Empty(mismatches);
    }

    /// <summary>
    /// The encoding classes of the FP/SIMD work (Arm ARM C4.1, top-level op0 = bits[28:25]):
    /// x111 SIMD&amp;FP data processing, 0010 SVE, 0000 with bit 31 set SME, and the loads and stores (x1x0) with
    /// V (bit 26) set -- except the memory copy/set class, whose bit 26 only tells CPY from CPYF and SET from SETG.
    /// </summary>
    internal static bool IsFpSimdOrSve(uint word)
    {
        uint op0 = word >> 25 & 0xF;
        if ((op0 & 7) == 7 || op0 == 2) return true;
        if (op0 == 0) return word >> 31 == 1;
        bool loadStore = (op0 & 5) == 4;
        bool memoryCopySet = (word & 0x3B20_0C00) == 0x1900_0400;
        return loadStore && (word >> 26 & 1) == 1 && !memoryCopySet;
    }

    // Spacing is not part of the comparison: objdump pads some operands and comments with runs of blanks.
    private static string Normalise(string text) => Blanks().Replace(SymbolSuffix().Replace(text, ""), " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Blanks();

    // " <symbol+0x10>" after a branch target, should objdump find symbols.
    [GeneratedRegex(@" <[^>]*>")]
    private static partial Regex SymbolSuffix();

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Jit.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Jit.sln above {AppContext.BaseDirectory}");
    }

    private static string Run(string program, string[] arguments, string directory, string purpose)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"{purpose}: cannot run {program}: {e.Message}");
            throw;
        }
        using (process)
        {
            var error = process.StandardError.ReadToEndAsync();
            string text = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                Assert.Fail($"{purpose}: {program} exited with {process.ExitCode}: {error.Result.Trim()}");
            return text;
        }
    }
}
