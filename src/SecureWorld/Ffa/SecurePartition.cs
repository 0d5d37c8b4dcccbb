namespace Jit.SecureWorld.Ffa;

/// <summary>
/// One direct request as a partition receives it and its response: the sender's endpoint ID and the five
/// argument registers w3–w7 (x3–x7 for FFA_MSG_SEND_DIRECT_REQ's SMC64 form), which the response replaces.
/// A struct passed by reference, so a request allocates nothing.
/// </summary>
public struct FfaDirectMessage
{
    public ushort Sender;
    /// <summary>The SMC64 form: the registers are 64 bits wide; otherwise the SPMC truncates them to 32.</summary>
    public bool Is64;
    public ulong A3, A4, A5, A6, A7;
}

/// <summary>
/// A secure partition under the SPMC: its identity as FFA_PARTITION_INFO_GET describes it, and what it does with
/// a direct request. It sees normal-world memory only through shares it retrieves by handle from the
/// <see cref="Spmc"/>, which checks that the share names the partition and that the requesting VM made it.
/// </summary>
public interface ISecurePartition
{
    /// <summary>Its endpoint ID: bit 15 set, as every secure endpoint's.</summary>
    ushort Id { get; }
    Guid Uuid { get; }
    /// <summary>The partition properties word of its information descriptor (<see cref="FfaAbi.PropDirectRequestReceive"/>, …).</summary>
    uint Properties { get; }
    ushort ExecutionContexts { get; }

    /// <summary>Handles a direct request from a VM; the response goes back in <paramref name="message"/>'s registers.</summary>
    void DirectRequest(Spmc spmc, ref FfaDirectMessage message);

    /// <summary>The hypervisor created VM <paramref name="vm"/> (a VM availability message); only if it asked (<see cref="FfaAbi.PropVmCreated"/>).</summary>
    void VmCreated(ushort vm);

    /// <summary>The hypervisor destroyed VM <paramref name="vm"/>: the partition forgets it; the SPMC then drops its shares.</summary>
    void VmDestroyed(ushort vm);
}
