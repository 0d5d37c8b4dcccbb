using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Translator;

namespace Jit.Differential.Tests;

/// <summary>
/// The side under test: one vCPU at EL1 with the MMU off, RAM at the harness's addresses, and the end
/// marker (an HVC) handed back to us as <see cref="ExitReason.Hvc"/>.
/// </summary>
public sealed unsafe class JitMachine : IDisposable, IHypervisorCalls
{
    private const ulong InstructionLimit = 100_000;
    // Every vector holds "hvc #VectorImm + slot", so an exception leaves the run loop and names its vector.
    private const ushort VectorImm = 0xe000;

    private readonly CpuState* s;
    private readonly PhysicalMemory ram = new();
    private readonly Mmu mmu;
    private readonly Engine engine;
    private readonly byte* region;
    private List<Chunk> previousChunks = [];
    private ushort lastHvc;

    /// <param name="options">The engine's switches; null takes them from JIT_OPTIONS (the --jit syntax).</param>
    public JitMachine(JitOptions? options = null)
    {
        s = CpuState.Allocate();
        var bank = ram.AddRam(Protocol.RegionBase, Protocol.RegionSize);
        region = bank.Host;
        mmu = new Mmu(s, ram, EmptyMmioBus.Instance) { FlatMemoryIsNormal = true };
        engine = new Engine(s, mmu, this) { Options = options ?? JitOptions.FromEnvironment() };
        uint* vectors = (uint*)(region + Protocol.VectorOffset);
        for (uint slot = 0; slot < 16; slot++)
            vectors[slot * 32] = 0xd4000002u | ((VectorImm + slot) << 5);
    }

    public JitOptions Options => engine.Options;

    public bool Hvc(CpuState* state, ushort imm)
    {
        lastHvc = imm;
        return false;
    }

    public bool Smc(CpuState* state, ushort imm) => false;

    public Outcome Run(TestCase c)
    {
        foreach (var chunk in previousChunks)
            new Span<byte>(region + chunk.Offset, chunk.Words.Length * 4).Clear();
        foreach (var chunk in c.Chunks)
        {
            uint* p = (uint*)(region + chunk.Offset);
            for (int i = 0; i < chunk.Words.Length; i++) p[i] = chunk.Words[i];
        }
        previousChunks = c.Chunks;
        // Both pages, so a stray store of one case cannot leak into the next.
        new Span<byte>(region + Protocol.ScratchPages, (int)Protocol.ScratchPagesSize).Clear();
        var scratch = new Span<byte>(region + Protocol.ScratchOffset, c.Scratch.Length);
        c.Scratch.CopyTo(scratch);

        *s = default;
        for (int i = 0; i < 31; i++) s->X[i] = c.X[i];
        s->EL = 1;
        s->SPSel = 1;
        s->X[31] = c.Sp;
        s->Nzcv = c.Nzcv;
        // FP/SIMD enabled at EL0 and EL1, as Linux leaves it for the harness's user space.
        s->CpacrEl1 = 3UL << 20;
        s->Fpcr = c.Fpcr;
        s->Fpsr = c.Fpsr;
        for (int i = 0; i < 64; i++) s->V[i] = c.V[i];
        s->Daif = 0x3C0;
        s->SctlrEl1 = 0;
        s->VbarEl1 = Protocol.RegionBase + Protocol.VectorOffset;
        s->PC = Protocol.RegionBase;
        engine.FlushTranslations();
        mmu.Tlb.Flush();

        lastHvc = 0;
        var o = new Outcome();
        ExitReason exit;
        try
        {
            exit = engine.Run(InstructionLimit);
        }
        catch (Exception e)
        {
            o.Stop = $"the engine threw {e.GetType().Name}: {e.Message}";
            exit = ExitReason.Halt;
        }
        if (o.Stop.Length == 0)
        {
            if (exit == ExitReason.Hvc && lastHvc == Protocol.EndImm) { }
            else if (exit == ExitReason.Hvc && lastHvc >= VectorImm && lastHvc < VectorImm + 16)
                o.Stop = $"exception to vector 0x{(lastHvc - VectorImm) * 0x80:x}: ESR_EL1 0x{s->EsrEl1:x}, ELR_EL1 0x{s->ElrEl1:x}, FAR_EL1 0x{s->FarEl1:x}";
            else if (exit == ExitReason.Hvc)
                o.Stop = $"hvc #0x{lastHvc:x} at 0x{s->PC - 4:x}";
            else
                o.Stop = $"exit {exit} at pc 0x{s->PC:x}";
        }

        for (int i = 0; i < 31; i++) o.X[i] = s->X[i];
        o.Sp = s->X[31];
        o.Nzcv = s->Nzcv;
        o.Fpcr = s->Fpcr;
        o.Fpsr = s->Fpsr;
        for (int i = 0; i < 64; i++) o.V[i] = s->V[i];
        o.Scratch = scratch.ToArray();
        return o;
    }

    /// <summary>Whether anything wrote to the scratch pages outside the case's own scratch bytes.</summary>
    public bool WroteOutsideScratch(TestCase c)
    {
        var pages = new ReadOnlySpan<byte>(region + Protocol.ScratchPages, (int)Protocol.ScratchPagesSize);
        int start = (int)(Protocol.ScratchOffset - Protocol.ScratchPages);
        return pages[..start].IndexOfAnyExcept((byte)0) >= 0 || pages[(start + c.Scratch.Length)..].IndexOfAnyExcept((byte)0) >= 0;
    }

    public void Dispose()
    {
        ram.Dispose();
        CpuState.Free(s);
    }
}
