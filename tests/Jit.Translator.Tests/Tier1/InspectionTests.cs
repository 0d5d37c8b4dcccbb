using System.Runtime.InteropServices;
using Jit.Runtime;
using Jit.Translator.Interpreter;
using Jit.Translator.Tests.Interpreter;
using Jit.Translator.Tier1;
using Jit.Translator.Tier1.Inspection;

namespace Jit.Translator.Tests.Tier1;

/// <summary>The runtime's JIT events are process-wide; these tests read them alone so no other compile interleaves.</summary>
[CollectionDefinition(nameof(InspectionTests), DisableParallelization = true)]
public sealed class InspectionCollection;

/// <summary>
/// Inspection of a compiled block (<c>jit disasm</c>): the IL listing the emitter records, and the x86-64 code
/// found through the runtime's JIT events.
/// </summary>
[Collection(nameof(InspectionTests))]
public unsafe class InspectionTests
{
    private const ulong Loop = TestMachine.RamBase + 8;

    private static TestMachine RunCountedLoop()
    {
        var m = new TestMachine();
        m.Engine.Options = new JitOptions { Tier1 = Tier1Mode.Synchronous, Threshold = 0 };
        m.Load("""
            mov x0, #0
            mov x1, #100
            1: add x0, x0, x1
            subs x1, x1, #1
            b.ne 1b
            hvc #0
            """);
        Assert.Equal(ExitReason.Hvc, m.Run());
        return m;
    }

    private static Block LoopBlock(TestMachine m) =>
        m.Engine.Blocks.Single(b => b.Pa == Loop && b.Compiled is not null);

    private static uint[] Words(TestMachine m, ulong pa, int count)
    {
        var bytes = new byte[count * 4];
        m.Ram.Read(pa, bytes);
        return MemoryMarshal.Cast<byte, uint>(bytes).ToArray();
    }

    [Fact]
    public void IlListingNamesLabelsLocalsAndCallsAndEndsBlocksWithRet()
    {
        using var m = RunCountedLoop();
        var il = Tier1Compiler.Inspect(Region.Single(LoopBlock(m)), inlineTlb: true);
        Assert.NotNull(il);
        Assert.Equal(3, il.GuestInstructions);
        Assert.StartsWith("a64_40000008", il.MethodName);
        string text = il.Listing;
        Assert.StartsWith(".locals V_0:u8", text);
        Assert.Matches(@"(?m)^  IL_0000  br +L\d+ \(IL_[0-9a-f]{4}\)$", text);
        Assert.Matches(@"(?m)^L\d+: +\(IL_[0-9a-f]{4}\)$", text);
        Assert.Matches(@"(?m)^  IL_[0-9a-f]{4}  ret\s*$", text);
        Assert.Matches(@"(?m)^  IL_[0-9a-f]{4}  ldarg +5$", text);
        Assert.True(il.IlOps > 10, $"{il.IlOps} ops");
        Assert.True(il.IlBytes > il.IlOps, $"{il.IlBytes} bytes for {il.IlOps} ops");
        // One listing line per opcode; label lines are not opcodes.
        Assert.Equal(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("  IL_")), il.IlOps);
    }

    [Fact]
    public void RecorderIsOffOutsideInspection()
    {
        using var m = RunCountedLoop();
        var recorder = new IlRecorder();
        using (recorder.Activate()) { }
        // Compiling after the scope closed leaves the recorder untouched.
        Tier1Compiler.CompileNow(Region.Single(LoopBlock(m)), inlineTlb: true);
        Assert.Equal(0, recorder.Ops);
        Assert.Equal("", recorder.Listing());
    }

    [Fact]
    public void HostCodeOfACompiledLoopIsAWholeMethodEndingInRet()
    {
        using var m = RunCountedLoop();
        Block block = LoopBlock(m);
        using var capture = new HostCodeCapture();
        var r = RegionInspector.Inspect(Region.Single(block), Loop, (pa, n) => Words(m, pa, n), inlineTlb: true, capture);

        Assert.Equal(["add\tx0, x0, x1", "subs\tx1, x1, #0x1", "b.ne\t0x40000008  // b.any"], r.Guest.Select(g => g.Text));
        Assert.Equal(0x8b010000u, r.Guest[0].Word);
        Assert.Equal(Loop + 4, r.Guest[1].Address);
        Assert.Contains("ret", r.Il);
        Assert.True(r.HostInstructions.Count >= r.GuestInstructions, $"{r.HostInstructions.Count} host instructions");
        Assert.Contains(r.HostInstructions, i => i.IsReturn && i.Text == "ret");
        // A cold block RyuJIT places after the last ret ends in a jump back.
        Assert.True(r.HostInstructions[^1].IsReturn || r.HostInstructions[^1].Text.StartsWith("jmp"), $"last: {r.HostInstructions[^1].Text}");
        Assert.Equal(r.HostBytes, r.HostInstructions.Sum(i => i.Bytes.Length));
        Assert.DoesNotContain(r.HostInstructions, i => i.Invalid);
        Assert.Equal(r.HostBytes / 3.0, r.HostBytesPerGuestInstruction);
    }

    [Fact]
    public void HostListingNamesBranchTargetsByOffsetAndCallsByCallee()
    {
        // call 0x2000; jne +0; jmp +5; ret — at 0x1000.
        byte[] code = [0xe8, 0xfb, 0x0f, 0x00, 0x00, 0x75, 0xf9, 0xeb, 0xfc, 0xc3];
        var listing = HostDisassembler.Disassemble(new HostCode("m", 0x1000, code), a => a == 0x2000 ? "Mmu::ReadSlow" : null);
        Assert.Equal(["call    Mmu::ReadSlow", "jne     +0000", "jmp     +0005", "ret"], listing.Select(i => i.Text));
        Assert.Equal([0, 5, 7, 9], listing.Select(i => i.Offset));
        Assert.Equal([0xeb, 0xfc], listing[2].Bytes);
        Assert.True(listing[3].IsReturn);
    }

    [Fact]
    public void EachInspectionCapturesItsOwnCompile()
    {
        using var m = RunCountedLoop();
        Block block = LoopBlock(m);
        Func<ulong, int, uint[]> words = (pa, n) => Words(m, pa, n);
        using var capture = new HostCodeCapture();
        var first = RegionInspector.Inspect(Region.Single(block), Loop, words, inlineTlb: true, capture);
        var second = RegionInspector.Inspect(Region.Single(block), Loop, words, inlineTlb: false, capture);
        // A fresh DynamicMethod each time: the second capture must not return the first one's code.
        Assert.NotEqual(first.Host.Address, second.Host.Address);
        Assert.Equal(first.Guest, second.Guest);
        Assert.Equal(first.Il, second.Il);
    }
}
