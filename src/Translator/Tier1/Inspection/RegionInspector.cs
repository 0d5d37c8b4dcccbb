using Iced.Intel;
using Jit.Translator.Disassembler;
using Jit.Translator.Interpreter;

namespace Jit.Translator.Tier1.Inspection;

/// <summary>A guest instruction of an inspected region: its virtual address, word and objdump text.</summary>
public sealed record GuestInstruction(ulong Address, uint Word, string Text);

/// <summary>One compiled region three ways (A64, IL, x86-64) with the figures that compare them.</summary>
public sealed record RegionInspection(
    string Name,
    ulong Pa,
    ulong Va,
    IReadOnlyList<GuestInstruction> Guest,
    int GuestInstructions,
    string Il,
    int IlOps,
    int IlBytes,
    HostCode Host,
    IReadOnlyList<HostInstruction> HostInstructions)
{
    public int HostBytes => Host.Bytes.Length;
    public double HostBytesPerGuestInstruction => (double)HostBytes / GuestInstructions;
    public double HostInstructionsPerGuestInstruction => (double)HostInstructions.Count / GuestInstructions;
}

/// <summary>
/// Compiles a block for inspection and collects its three forms: the guest instructions tier 1 covers, the IL
/// it emits and the x86-64 RyuJIT makes of it.
/// </summary>
public static class RegionInspector
{
    private static readonly TimeSpan EventWait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <paramref name="va"/> is where the guest ran the region's entry (the compiled code is position-independent;
    /// the address only labels the listing), <paramref name="words"/> reads a member's instruction words (PA,
    /// count) from guest memory. Throws <see cref="InvalidOperationException"/> when tier 1 cannot compile the
    /// region or the code the runtime reported does not decode as a whole method.
    /// </summary>
    public static RegionInspection Inspect(Region region, ulong va, Func<ulong, int, uint[]> words, bool inlineTlb, HostCodeCapture capture)
    {
        Block block = region.Entry;
        var compiled = Tier1Compiler.Inspect(region, inlineTlb)
            ?? throw new InvalidOperationException($"tier 1 covers no instruction of the block at PA 0x{block.Pa:x} (its first is {Describe(words(block.Pa, 1), va)})");
        int n = compiled.GuestInstructions;
        var guest = new List<GuestInstruction>(n);
        foreach (var member in region.Blocks)
        {
            int count = region.Prefix(member);
            uint[] w = words(member.Pa, count);
            ulong start = va + (member.Pa - block.Pa);
            for (int i = 0; i < count; i++)
            {
                ulong pc = start + 4 * (ulong)i;
                guest.Add(new GuestInstruction(pc, w[i], A64Disassembler.Disassemble(w[i], pc)));
            }
        }
        var host = capture.Capture(compiled.MethodName, compiled.ForceCompile, EventWait);
        GC.KeepAlive(compiled.Code);
        var instructions = HostDisassembler.Disassemble(host, capture.MethodAt);
        Verify(host, instructions);
        return new RegionInspection(compiled.MethodName, block.Pa, va, [.. guest], n, compiled.Listing, compiled.IlOps, compiled.IlBytes,
            host, instructions);
    }

    private static string Describe(ReadOnlySpan<uint> words, ulong va) =>
        words.Length == 0 ? "unknown" : $"'{A64Disassembler.Disassemble(words[0], va).Replace('\t', ' ')}'";

    /// <summary>
    /// The start and size come from an event matched by name and thread; code that decodes cleanly to its last
    /// byte, returns somewhere and cannot run off its end (RyuJIT may put a cold block, ending in a jump back,
    /// after the last ret) is that method, not a neighbour or a stub.
    /// </summary>
    private static void Verify(HostCode host, IReadOnlyList<HostInstruction> instructions)
    {
        if (instructions.Count == 0 || instructions.Any(i => i.Invalid) || !instructions.Any(i => i.IsReturn)
            || instructions[^1].Flow is not (FlowControl.Return or FlowControl.UnconditionalBranch or FlowControl.IndirectBranch
                or FlowControl.Interrupt or FlowControl.Exception))
            throw new InvalidOperationException(
                $"the {host.Bytes.Length} bytes the runtime reported for {host.Method} at 0x{host.Address:x} are not a whole method");
    }
}
