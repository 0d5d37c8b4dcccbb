using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Tee;

/// <summary>The mediator a domain's <c>tee</c> setting chooses.</summary>
public static class TeeMediators
{
    /// <summary>The mediator for <paramref name="kind"/> on <paramref name="domain"/>, or null for <see cref="TeeKind.None"/>.</summary>
    /// <exception cref="NotSupportedException">FF-A, which has no mediator yet.</exception>
    public static ITeeMediator? Create(TeeKind kind, Domain domain) => kind switch
    {
        TeeKind.None => null,
        TeeKind.Optee => new OpteeMediator(domain.DomId, domain.GuestMemory, domain.MachineRam, domain.SecureWorld),
        _ => throw new NotSupportedException("tee = \"ffa\": the FF-A mediator is not implemented yet; use \"optee\" or \"none\""),
    };
}
