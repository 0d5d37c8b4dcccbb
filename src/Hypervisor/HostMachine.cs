using Jit.Hypervisor.Memory;
using Jit.SecureWorld;
using Jit.SecureWorld.Optee;

namespace Jit.Hypervisor;

/// <summary>
/// The machine under the hypervisor: its machine address space, where every domain's RAM has frames of its own,
/// and the modelled secure world (EL3 and OP-TEE) that sees normal-world memory only through that space. A host
/// has one for all its domains; a machine of its own (<c>jit run</c>) makes one for its single domain.
/// </summary>
public sealed class HostMachine
{
    public HostMachine(EntropySource entropy, OpteeOptions? options = null)
    {
        Memory = new MachineMemoryMap();
        SecureWorld = SecureMonitor.Create(Memory, entropy, options);
    }

    public MachineMemoryMap Memory { get; }
    public SecureMonitor SecureWorld { get; }
}
