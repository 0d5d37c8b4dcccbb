using Jit.Runtime;
using Jit.Runtime.Memory;

namespace Jit.Translator.Interpreter;

public sealed unsafe class BlockInterpreter
{
    private readonly CpuState* s;
    private readonly Mmu mmu;
    private readonly IHypervisorCalls? hypervisor;

    public BlockInterpreter(CpuState* s, Mmu mmu, IHypervisorCalls? hypervisor)
    {
        this.s = s;
        this.mmu = mmu;
        this.hypervisor = hypervisor;
    }

    public int BlocksDecoded { get; private set; }
    public ExitReason Run(ulong maxInstructions) => throw new NotImplementedException($"{(ulong)s}{mmu}{hypervisor}{maxInstructions}");
    public void Flush() { }
}
