using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Statistics;

/// <summary>
/// The groups SMCCC calls are counted in: one slot per owning entity of function-ID bits [29:24] (DEN0028
/// table 6-2), except that the Standard Secure Service is split into PSCI (functions 0x00–0x1F) and the rest,
/// because PSCI is what a guest calls most and the rest (SDEI, TRNG, …) is a different service.
/// </summary>
public static class SmcccOwners
{
    /// <summary>64 owners and one slot for the Standard Secure Service outside PSCI.</summary>
    public const int Slots = 65;
    private const int StandardSecureRest = 64;

    /// <summary>The report's names for the groups, in report order, each with the slots it sums.</summary>
    public static readonly (string Name, int First, int Last)[] Groups =
    [
        ("arch", (int)SmcccOwner.ArmArchitecture, (int)SmcccOwner.ArmArchitecture),
        ("cpu", (int)SmcccOwner.Cpu, (int)SmcccOwner.Cpu),
        ("sip", (int)SmcccOwner.SiP, (int)SmcccOwner.SiP),
        ("oem", (int)SmcccOwner.Oem, (int)SmcccOwner.Oem),
        ("psci", (int)SmcccOwner.StandardSecure, (int)SmcccOwner.StandardSecure),
        ("stdSecure", StandardSecureRest, StandardSecureRest),
        ("stdHyp", (int)SmcccOwner.StandardHypervisor, (int)SmcccOwner.StandardHypervisor),
        ("vendorHyp", (int)SmcccOwner.VendorHypervisor, (int)SmcccOwner.VendorHypervisor),
        ("reserved", 7, 47),
        ("trustedApp", (int)SmcccOwner.TrustedApplication, (int)SmcccOwner.TrustedApplicationLast),
        ("trustedOs", (int)SmcccOwner.TrustedOs, (int)SmcccOwner.TrustedOsLast),
    ];

    internal static int Slot(in SmcccCall call)
    {
        int owner = call.Owner;
        return owner == (int)SmcccOwner.StandardSecure && call.Function > 0x1F ? StandardSecureRest : owner;
    }
}
