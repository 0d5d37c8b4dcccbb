using Jit.SecureWorld;

namespace Jit.Hypervisor.Smccc;

/// <summary>
/// The Silicon Provider service (owner 2) as the secure monitor's platform firmware implements it: a permitted
/// guest call becomes an SMC of the hypervisor's to the modelled secure world, with the guest's a1–a6 and the
/// guest's client ID (domid + 1) in a7, whatever the guest put there; the firmware's a0–a3 go back to the guest.
/// Which domain may get here is the policy's business (by default the control domain only); the firmware checks
/// the arguments.
/// </summary>
/// <param name="secureWorld">The secure monitor of the domain's host, asked at each call (a domain of its own
/// creates it at its first call).</param>
public sealed class SipForwarder(Func<SecureMonitor> secureWorld) : ISmcccService
{
    public string Name => "SiP forwarder";

    public SmcccOutcome Call(ref SmcccCall call)
    {
        var smc = Forwarded(in call);
        secureWorld().Smc(ref smc);
        call.Return((long)smc.A0, smc.A1, smc.A2, smc.A3);
        return SmcccOutcome.Done;
    }

    /// <summary>The SMC the hypervisor makes for the guest's call: its a0–a6, and the guest's client ID in a7.</summary>
    internal static SecureCall Forwarded(in SmcccCall call) =>
        new(call.FunctionId, SecureCall.ClientIdForDomain(call.DomId))
        {
            A1 = call.X1, A2 = call.X2, A3 = call.X3, A4 = call.X4, A5 = call.X5, A6 = call.X6,
        };
}
