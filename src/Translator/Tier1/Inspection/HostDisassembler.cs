using Iced.Intel;

namespace Jit.Translator.Tier1.Inspection;

/// <summary>One x86-64 instruction of a method's code: its offset from the method's start, bytes and text.</summary>
public sealed record HostInstruction(int Offset, byte[] Bytes, string Text, FlowControl Flow, bool Invalid)
{
    public bool IsReturn => Flow == FlowControl.Return;
}

/// <summary>
/// Disassembles the x86-64 code RyuJIT produced (Iced, Intel syntax). Offsets, not addresses, label the lines
/// and the branch targets inside the method, so two listings of the same region compare line by line; calls
/// show the callee's name where <c>methodAt</c> knows the code they reach.
/// </summary>
public static class HostDisassembler
{
    public static IReadOnlyList<HostInstruction> Disassemble(HostCode code, Func<ulong, string?>? methodAt = null)
    {
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code.Bytes), code.Address);
        var formatter = new IntelFormatter(new Symbols(code.Address, (ulong)code.Bytes.Length, methodAt ?? (_ => null)));
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

    /// <summary>
    /// Names a branch target inside the method by its offset, as the listing's lines are named, and a call's
    /// callee: the target of a direct call, or what the cell of an indirect one holds.
    /// </summary>
    private sealed unsafe class Symbols(ulong start, ulong size, Func<ulong, string?> methodAt) : ISymbolResolver
    {
        public bool TryGetSymbol(in Instruction instruction, int operand, int instructionOperand, ulong address, int addressSize,
            out SymbolResult symbol)
        {
            symbol = default;
            var flow = instruction.FlowControl;
            if (address - start < size && flow is FlowControl.ConditionalBranch or FlowControl.UnconditionalBranch or FlowControl.Call)
            {
                symbol = new SymbolResult(address, $"+{address - start:x4}");
                return true;
            }
            string? name = null;
            if (flow == FlowControl.Call) name = methodAt(address);
            // RyuJIT calls through absolute or RIP-relative cells of its own that hold the callee's entry point.
            else if (flow == FlowControl.IndirectCall && instruction.Op0Kind == OpKind.Memory && instruction.MemoryIndex == Register.None
                     && instruction.MemoryBase is Register.None or Register.RIP && address != 0)
                name = methodAt(*(ulong*)address);
            if (name is null) return false;
            symbol = new SymbolResult(address, name);
            return true;
        }
    }
}
