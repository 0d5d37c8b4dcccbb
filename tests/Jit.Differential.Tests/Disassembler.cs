using System.Globalization;

namespace Jit.Differential.Tests;

/// <summary>
/// Text for the words of a failing case. The project has no disassembler of its own yet, so this asks
/// binutils' objdump when it is installed and falls back to hex.
/// </summary>
public static class Disassembler
{
    private const string Objdump = "aarch64-linux-gnu-objdump";
    private static bool? available;

    public static IReadOnlyList<string> Lines(Chunk chunk)
    {
        ulong vma = Protocol.RegionBase + chunk.Offset;
        var text = Run(chunk, vma);
        var lines = new List<string>();
        for (int i = 0; i < chunk.Words.Length; i++)
        {
            uint w = chunk.Words[i];
            ulong pc = vma + (ulong)i * 4;
            string asm = w == Protocol.EndWord ? "(end of case)" : text?.GetValueOrDefault(pc) ?? "";
            lines.Add($"0x{pc:x}: {w:x8}  {asm}");
        }
        return lines;
    }

    private static Dictionary<ulong, string>? Run(Chunk chunk, ulong vma)
    {
        if (available == false) return null;
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, chunk.Words.SelectMany(BitConverter.GetBytes).ToArray());
            var (code, output) = QemuHarness.RunTool(Objdump, $"-D -b binary -m aarch64 --adjust-vma=0x{vma:x} \"{file}\"");
            available = code == 0;
            if (code != 0) return null;
            var map = new Dictionary<ulong, string>();
            foreach (string line in output.Split('\n'))
            {
                // "10000000:	91000400 	add	x0, x0, #0x1"
                var parts = line.Split('\t');
                if (parts.Length < 3) continue;
                if (!ulong.TryParse(parts[0].Trim().TrimEnd(':'), NumberStyles.HexNumber, null, out ulong pc)) continue;
                map[pc] = string.Join(' ', parts[2..]).Trim();
            }
            return map;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            available = false;
            return null;
        }
        finally
        {
            File.Delete(file);
        }
    }
}
