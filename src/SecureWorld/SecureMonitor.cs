using Jit.Runtime;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.Sip;

namespace Jit.SecureWorld;

/// <summary>
/// EL3 of the modelled machine: every SMC that reaches the secure world enters here and goes, by the owner field
/// of its function ID (DEN0028 table 6-2), to the platform firmware (SiP) or to the Trusted OS. Everything
/// else is NOT_SUPPORTED, reported once per function ID.
/// </summary>
/// <remarks>
/// The monitor enforces no policy of its own: which normal-world client may issue which SMC is decided by the
/// hypervisor before it forwards a call. The services check their own arguments.
/// </remarks>
public sealed class SecureMonitor
{
    private const int OwnerSiP = 2, OwnerTrustedOsFirst = 50, OwnerTrustedOsLast = 63;

    public SecureMonitor(PlatformFirmware firmware, OpteeOs trustedOs)
    {
        Firmware = firmware;
        TrustedOs = trustedOs;
    }

    /// <summary>The usual machine: our platform firmware and OP-TEE with the standard trusted applications.</summary>
    public static SecureMonitor Create(IMachineMemory memory, EntropySource entropy, OpteeOptions? options = null) =>
        new(new PlatformFirmware(), OpteeOs.WithStandardApplications(memory, entropy, options));

    public PlatformFirmware Firmware { get; }
    public OpteeOs TrustedOs { get; }

    /// <summary>Handles one SMC; on return A0–A3 of <paramref name="call"/> hold the results.</summary>
    public void Smc(ref SecureCall call)
    {
        int owner = call.Owner;
        if (owner is >= OwnerTrustedOsFirst and <= OwnerTrustedOsLast)
        {
            TrustedOs.Smc(ref call);
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
