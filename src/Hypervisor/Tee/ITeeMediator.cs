using Jit.Hypervisor.Config;
using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Tee;

/// <summary>
/// A TEE mediator: what Xen's tee/tee.c calls the mediator operations, one object per domain holding that domain's
/// state. The dispatcher routes the domain's TEE calls to it (after the policy has permitted them): the Trusted OS
/// and Trusted Application owners to <see cref="OpteeMediator"/>, the FF-A range of the Standard Secure Service to
/// <see cref="FfaMediator"/>. It checks and translates everything the guest hands it before anything reaches the
/// secure world, and tells the secure world when the domain comes and goes.
/// </summary>
public interface ITeeMediator : ISmcccService
{
    TeeKind Kind { get; }

    /// <summary>Tells the secure world about the domain (Xen's domain_init): after it is built, before its vCPUs run.</summary>
    /// <exception cref="InvalidOperationException">The secure world refused the domain (too many clients, …).</exception>
    void DomainCreated();

    /// <summary>
    /// The domain is going (Xen's relinquish_resources and domain_teardown): its vCPUs have stopped, possibly in
    /// the middle of calls. The secure world drops everything of it, the mediator its shadows, and from now on
    /// every call is refused (OP-TEE: ENOTAVAIL; FF-A: NOT_SUPPORTED). Idempotent.
    /// </summary>
    void DomainDestroyed();
}
