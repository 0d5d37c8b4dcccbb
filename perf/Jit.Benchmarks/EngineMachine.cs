using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Translator;

namespace Jit.Benchmarks;

/// <summary>
/// The CPU core alone, as the translator's tests drive it: a <see cref="CpuState"/>, RAM, an MMU with no
/// devices and an <see cref="Engine"/>, at EL1 with the MMU on. HVC ends a run (this hypervisor declines it),
/// so a guest program's length in instructions is exactly what it retires.
/// </summary>
public sealed unsafe class EngineMachine : IHypervisorCalls, IDisposable
{
    public EngineMachine(JitOptions options)
    {
        State = CpuState.Allocate();
        Ram.AddRam(GuestLayout.RamBase, GuestLayout.RamSize);
        Mmu = new Mmu(State, Ram, EmptyMmioBus.Instance);
        Engine = new Engine(State, Mmu, this) { Options = options };
        State->EL = 1;
        State->SPSel = 1;
        State->Daif = 0x3C0;
        State->SctlrEl1 = 0x30D0_0800;
        State->X[31] = GuestLayout.RamBase + GuestLayout.RamSize;
        GuestLayout.EnableMmu(State, Ram);
    }

    public CpuState* State { get; }
    public PhysicalMemory Ram { get; } = new();
    public Mmu Mmu { get; }
    public Engine Engine { get; }

    public void Load(ulong pa, IEnumerable<uint> words) => GuestLayout.WriteCode(Ram, pa, words);

    /// <summary>
    /// Runs from <paramref name="pc"/> until the guest's HVC; throws if it stops for anything else, or is still
    /// running after <paramref name="budget"/> instructions (a guest that faults would loop in its vectors).
    /// </summary>
    public void RunToHvc(ulong pc, ulong budget)
    {
        State->PC = pc;
        var exit = Engine.Run(budget);
        if (exit != ExitReason.Hvc)
            throw new InvalidOperationException($"benchmark guest stopped with {exit} at PC 0x{State->PC:x}, ESR 0x{State->EsrEl1:x}");
    }

    public bool Hvc(CpuState* s, ushort imm) => false;

    public bool Smc(CpuState* s, ushort imm) => false;

    public void Dispose()
    {
        Mmu.Tlb.Dispose();
        Ram.Dispose();
        CpuState.Free(State);
    }
}
