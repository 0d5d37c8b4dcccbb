using Jit.Devices.Uart;
using Jit.Hypervisor;
using Jit.Hypervisor.Builder;

namespace Jit.Benchmarks;

/// <summary>
/// A whole domain in-process: RAM, the PL011 on the MMIO map at its place in the guest memory map, the SMCCC
/// dispatcher every domain has, and one vCPU with the MMU on. Runs go through <see cref="Vcpu.Run"/>, the
/// hypervisor's own run loop, so exits cost what they cost under <c>jit run</c>.
/// </summary>
public sealed unsafe class DomainMachine : IDisposable
{
    public DomainMachine(Tier tier)
    {
        Domain = new Domain("bench") { JitOptions = TierOptions.Of(tier) };
        Domain.Memory.AddRam(GuestLayout.RamBase, GuestLayout.RamSize);
        Domain.Mmio.Register(GuestMemoryMap.Pl011Base, new Pl011(Stream.Null));
        Vcpu = Domain.AddVcpu();
        Vcpu.Reset(GuestLayout.Code);
        GuestLayout.EnableMmu(Vcpu.State, Domain.Memory, GuestMemoryMap.Pl011Base);
    }

    public Domain Domain { get; }
    public Vcpu Vcpu { get; }

    public void Load(IEnumerable<uint> words) => GuestLayout.WriteCode(Domain.Memory, GuestLayout.Code, words);

    /// <summary>
    /// Runs <paramref name="instructions"/> more guest instructions of an endless loop (a compiled loop stops at
    /// its next back-edge, so a few more may retire).
    /// </summary>
    public void Run(ulong instructions)
    {
        ulong before = Vcpu.Retired;
        var exit = Vcpu.Run(instructions);
        if (exit != VcpuExit.InstructionLimit || Vcpu.Retired - before > instructions + 64)
            throw new InvalidOperationException(
                $"benchmark guest stopped with {exit} after {Vcpu.Retired - before} of {instructions} instructions at PC 0x{Vcpu.State->PC:x}, ESR 0x{Vcpu.State->EsrEl1:x}");
    }

    public void Dispose() => Domain.Dispose();
}
