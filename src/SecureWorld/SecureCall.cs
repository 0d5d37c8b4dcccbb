namespace Jit.SecureWorld;

/// <summary>
/// One SMC as the secure world receives it: the function ID in A0, arguments in A1–A6 and, for the Trusted OS,
/// the normal-world client ID in A7. Results replace A0–A3 (OP-TEE's RPC returns also leave A4–A7 as they were,
/// which the ABI calls "preserved"). A plain struct, passed by reference, so the entry allocates nothing.
/// </summary>
/// <remarks>
/// Client IDs follow OP-TEE's virtualisation ABI (optee_smc.h, "a7 Hypervisor Client ID register"): 0 is the
/// hypervisor itself, and every call the hypervisor forwards for a guest carries that guest's ID, domid + 1 as
/// Xen numbers them (<see cref="ClientIdForDomain"/>). The guest's own A7 never reaches the model: the
/// hypervisor overwrites it.
/// </remarks>
public struct SecureCall
{
    public ulong A0, A1, A2, A3, A4, A5, A6, A7;

    /// <summary>
    /// FF-A calls only: the normal-world endpoint the hypervisor makes the call for, 0 for itself and domid + 1
    /// for a domain (the same number as <see cref="ClientIdForDomain"/>). FF-A uses all of w1–w7 (a direct
    /// message carries five arguments in w3–w7), so the caller's identity travels beside the registers; only the
    /// hypervisor sets it, so the SPMC trusts it.
    /// </summary>
    public ushort Endpoint;

    /// <summary>The client ID the hypervisor uses for its own calls (VM_CREATED, VM_DESTROYED, probing).</summary>
    public const uint HypervisorClientId = 0;

    /// <summary>The client ID of domain <paramref name="domid"/>: domid + 1, as Xen's OP-TEE mediator gives it.</summary>
    public static uint ClientIdForDomain(int domid) => (uint)domid + 1;

    public SecureCall(uint functionId, uint clientId)
    {
        A0 = functionId;
        A7 = clientId;
    }

    public readonly uint FunctionId => (uint)A0;

    /// <summary>W7: who is calling. Only the hypervisor can set it, so the model trusts it.</summary>
    public readonly uint ClientId => (uint)A7;

    /// <summary>Bit 31: a fast (atomic) call rather than a yielding one (DEN0028 2.5).</summary>
    public readonly bool IsFast => (FunctionId & 0x8000_0000) != 0;

    /// <summary>Bit 30: the SMC64 convention; SMC32 calls carry their values in W registers only.</summary>
    public readonly bool Is64 => (FunctionId & 0x4000_0000) != 0;

    /// <summary>Bits [29:24]: the owning entity (SiP = 2, Trusted OS = 50–63, …).</summary>
    public readonly int Owner => (int)(FunctionId >> 24) & 0x3F;

    /// <summary>Sets W0–W3, zero-extended as an SMC32 result is.</summary>
    public void Return32(uint a0, uint a1 = 0, uint a2 = 0, uint a3 = 0)
    {
        A0 = a0;
        A1 = a1;
        A2 = a2;
        A3 = a3;
    }

    /// <summary>Sets only W0, leaving A1–A3 as the caller passed them ("preserved" in optee_smc.h).</summary>
    public void Return32Only(uint a0) => A0 = a0;

    /// <summary>Sets X0 to an SMCCC status, sign-extended so that W0 and X0 both read as it.</summary>
    public void ReturnStatus(long status) => A0 = (ulong)status;
}
