using Jit.Runtime;
using Jit.SecureWorld.Ffa;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.Sip;

namespace Jit.SecureWorld;

/// <summary>
/// EL3 of the modelled machine: every SMC that reaches the secure world enters here and goes, by the owner field
/// of its function ID (DEN0028 table 6-2), to the platform firmware (SiP), to the Trusted OS, or, for the FF-A
/// range of the Standard Secure Service (0x60–0xFF), to the SPMC. Everything else is NOT_SUPPORTED, reported
/// once per function ID.
/// </summary>
/// <remarks>
/// <para>The model runs OP-TEE beside the SPMC rather than as one of its partitions: each is reached through its own
/// ABI, as a guest with <c>tee = "optee"</c> or <c>tee = "ffa"</c> uses one or the other.</para>
/// <para>The monitor enforces no policy of its own: which normal-world client may issue which SMC is decided by the
/// hypervisor before it forwards a call. The services check their own arguments.</para>
/// </remarks>
public sealed class SecureMonitor
{
    private const int OwnerSiP = 2, OwnerTrustedOsFirst = 50, OwnerTrustedOsLast = 63;

    /// <param name="spmc">The FF-A SPMC, or null for a machine without one (FF-A calls are NOT_SUPPORTED).</param>
    public SecureMonitor(PlatformFirmware firmware, OpteeOs trustedOs, Spmc? spmc = null)
    {
        Firmware = firmware;
        TrustedOs = trustedOs;
        Spmc = spmc;
    }

    /// <summary>The usual machine: our platform firmware, OP-TEE with the standard trusted applications, and the SPMC with its partition.</summary>
    public static SecureMonitor Create(IMachineMemory memory, EntropySource entropy, OpteeOptions? options = null) =>
        new(new PlatformFirmware(), OpteeOs.WithStandardApplications(memory, entropy, options), Spmc.WithStandardPartitions(memory));

    public PlatformFirmware Firmware { get; }
    public OpteeOs TrustedOs { get; }
    public Spmc? Spmc { get; }

    /// <summary>Handles one SMC; on return A0–A3 of <paramref name="call"/> hold the results.</summary>
    public void Smc(ref SecureCall call)
    {
        int owner = call.Owner;
        if (owner is >= OwnerTrustedOsFirst and <= OwnerTrustedOsLast)
        {
            TrustedOs.Smc(ref call);
            return;
        }
        if (Spmc is not null && FfaAbi.IsFfa(call.FunctionId))
        {
            Spmc.Smc(ref call);
            return;
        }
        // Yielding calls exist only for Trusted OSes (DEN0028 table 6-2).
        if (call.IsFast && owner == OwnerSiP)
        {
            Firmware.Smc(ref call);
            return;
        }
        Unknown(ref call);
    }

    private readonly UnknownCallLog unknown = new("secure monitor");

    private void Unknown(ref SecureCall call)
    {
        unknown.Report(call.FunctionId, "NOT_SUPPORTED");
        call.ReturnStatus(SmcccStatus.NotSupported);
    }
}
