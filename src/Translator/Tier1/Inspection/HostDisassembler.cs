using Iced.Intel;

namespace Jit.Translator.Tier1.Inspection;

/// <summary>One x86-64 instruction of a method's code: its offset from the method's start, bytes and text.</summary>
public sealed record HostInstruction(int Offset, byte[] Bytes, string Text, FlowControl Flow, bool Invalid)
{
    public bool IsReturn => Flow == FlowControl.Return;
}

/// <summary>
/// Disassembles the x86-64 code RyuJIT produced (Iced, Intel syntax). Offsets, not addresses, label the lines
/// and the branch targets inside the method, so two listings of the same region compare line by line.
/// </summary>
public static class HostDisassembler
{
    public static IReadOnlyList<HostInstruction> Disassemble(HostCode code)
    {
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code.Bytes), code.Address);
        var formatter = new IntelFormatter(new InsideMethod(code.Address, (ulong)code.Bytes.Length));
        formatter.Options.HexPrefix = "0x";
        formatter.Options.HexSuffix = null;
        formatter.Options.UppercaseHex = false;
        formatter.Options.FirstOperandCharIndex = 8;
        formatter.Options.SpaceAfterOperandSeparator = true;
        formatter.Options.ShowBranchSize = false;
        var output = new StringOutput();
        var list = new List<HostInstruction>();
        ulong end = code.Address + (ulong)code.Bytes.Length;
        while (decoder.IP < end)
        {
            decoder.Decode(out Instruction ins);
            int offset = (int)(ins.IP - code.Address);
            formatter.Format(ins, output);
            bool invalid = ins.IsInvalid;
            list.Add(new HostInstruction(offset, code.Bytes[offset..(offset + ins.Length)], invalid ? "(bad)" : output.ToStringAndReset(),
                ins.FlowControl, invalid));
            output.Reset();
        }
        return list;
    }

    /// <summary>Names a branch target inside the method by its offset, as the listing's lines are named.</summary>
    private sealed class InsideMethod(ulong start, ulong size) : ISymbolResolver
    {
        public bool TryGetSymbol(in Instruction instruction, int operand, int instructionOperand, ulong address, int addressSize,
            out SymbolResult symbol)
        {
            if (address >= start && address < start + size && instruction.FlowControl is FlowControl.ConditionalBranch
                    or FlowControl.UnconditionalBranch or FlowControl.Call)
            {
                symbol = new SymbolResult(address, $"+{address - start:x4}");
                return true;
            }
            symbol = default;
            return false;
        }
    }
}
