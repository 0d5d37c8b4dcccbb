using Jit.Translator.Disassembler;

namespace Jit.Differential.Tests;

/// <summary>The words of a failing case as the project's disassembler prints them (objdump's syntax).</summary>
public static class Disassembler
{
    public static IReadOnlyList<string> Lines(Chunk chunk)
    {
        ulong vma = Protocol.RegionBase + chunk.Offset;
        var lines = new List<string>();
        for (int i = 0; i < chunk.Words.Length; i++)
        {
            uint w = chunk.Words[i];
            ulong pc = vma + (ulong)i * 4;
            string asm = w == Protocol.EndWord ? "(end of case)" : A64Disassembler.Disassemble(w, pc).Replace('\t', ' ');
            lines.Add($"0x{pc:x}: {w:x8}  {asm}");
        }
        return lines;
    }
}
