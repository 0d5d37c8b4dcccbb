using System.Diagnostics;
using Jit.Runtime;
using Jit.Runtime.Memory;
using Jit.Translator;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>
/// A bare EL1 machine for interpreter tests: RAM at 0x4000_0000, code assembled with the cross assembler,
/// and `hvc` ending the run (the test hypervisor declines every call).
/// </summary>
public sealed unsafe class TestMachine : IDisposable, IHypervisorCalls
{
    public const ulong RamBase = 0x4000_0000;
    public const ulong RamSize = 16 << 20;

    public CpuState* State { get; }
    public PhysicalMemory Ram { get; } = new();
    public Mmu Mmu { get; }
    public Engine Engine { get; }
    public List<ushort> HvcCalls { get; } = [];

    /// <param name="counter">The system counter CNTVCT reads; the host's clock by default.</param>
    public TestMachine(Jit.Runtime.Timers.SystemCounter? counter = null)
    {
        State = CpuState.Allocate();
        Ram.AddRam(RamBase, RamSize);
        Mmu = new Mmu(State, Ram, EmptyMmioBus.Instance);
        // JIT_OPTIONS (the --jit syntax) runs the same tests under tier 1, e.g. tier1=sync,threshold=0.
        Engine = new Engine(new Processor(State, Mmu, counter), this) { Options = JitOptions.FromEnvironment() };
        State->EL = 1;
        State->SPSel = 1;
        State->Daif = 0x3C0;
        State->SctlrEl1 = 0x30D0_0800;
        State->PC = RamBase;
        State->X[31] = RamBase + RamSize;
    }

    public void Load(string assembly, ulong at = RamBase) => Ram.Write(at, Assembler.Assemble(assembly));

    /// <summary>Runs until the guest executes an HVC (or the budget ends) and returns why it stopped.</summary>
    public ExitReason Run(ulong budget = 1_000_000) => Engine.Run(budget);

    public ulong X(int r) => State->X[r];

    /// <summary>Whether an HVC with this immediate completes (the guest goes on) rather than stopping the run.</summary>
    public Func<ushort, bool> HvcCompletes { get; set; } = _ => false;

    public bool Hvc(CpuState* s, ushort imm)
    {
        HvcCalls.Add(imm);
        return HvcCompletes(imm);
    }

    public bool Smc(CpuState* s, ushort imm) => false;

    public void Dispose()
    {
        // The timer first: its alarm thread may still fire into the lines, which write to the state freed below
        // (and a later machine's state may sit at the same address).
        Engine.Processor.Timer.Dispose();
        Ram.Dispose();
        CpuState.Free(State);
    }
}

/// <summary>Assembles A64 source with Debian's cross binutils into a flat binary linked at 0x4000_0000.</summary>
public static class Assembler
{
    public static byte[] Assemble(string source)
    {
        string dir = Directory.CreateTempSubdirectory("jit-as-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "t.s"), source + "\n");
            Run("aarch64-linux-gnu-as", $"-o {dir}/t.o {dir}/t.s");
            Run("aarch64-linux-gnu-ld", $"-Ttext=0x40000000 -e 0x40000000 -o {dir}/t.elf {dir}/t.o");
            Run("aarch64-linux-gnu-objcopy", $"-O binary -j .text {dir}/t.elf {dir}/t.bin");
            return File.ReadAllBytes(Path.Combine(dir, "t.bin"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static void Run(string tool, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardError = true })
            ?? throw new InvalidOperationException($"cannot start {tool} (run scripts/setup.sh)");
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} failed: {err}");
    }
}
