using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Tee;

/// <summary>The mediator a domain's <c>tee</c> setting chooses.</summary>
public static class TeeMediators
{
    /// <summary>The mediator for <paramref name="kind"/> on <paramref name="domain"/>, or null for <see cref="TeeKind.None"/>.</summary>
    public static ITeeMediator? Create(TeeKind kind, Domain domain) => kind switch
    {
        TeeKind.None => null,
        TeeKind.Optee => new OpteeMediator(domain.DomId, domain.GuestMemory, domain.MachineRam, domain.SecureWorld),
        TeeKind.Ffa => new FfaMediator(domain.DomId, domain.GuestMemory, domain.MachineRam, domain.SecureWorld),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such TEE"),
    };
}
