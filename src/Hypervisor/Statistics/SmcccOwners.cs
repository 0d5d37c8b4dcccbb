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

    /// <summary>The slot of a call: its owner as the policy sees it (<see cref="SmcccPolicy.OwnerOf"/>), PSCI split off.</summary>
    internal static int Slot(in SmcccCall call) => Slot(SmcccPolicy.OwnerOf(call.FunctionId), call.FunctionId);

    internal static int Slot(int owner, uint fid) =>
        owner == (int)SmcccOwner.StandardSecure && (fid & 0xFFFF) > 0x1F ? StandardSecureRest : owner;

    /// <summary>Per-slot counts summed by group, in report order, every group listed.</summary>
    public static IEnumerable<(string Owner, ulong Calls)> ByGroup(ulong[] slots)
    {
        foreach (var (name, first, last) in Groups)
        {
            ulong sum = 0;
            for (int i = first; i <= last; i++) sum += slots[i];
            yield return (name, sum);
        }
    }

    // Slot → index in Groups.
    private static readonly byte[] groupOf = GroupIndex();

    internal static int GroupOf(int slot) => groupOf[slot];

    private static byte[] GroupIndex()
    {
        var map = new byte[Slots];
        for (int g = 0; g < Groups.Length; g++)
            for (int s = Groups[g].First; s <= Groups[g].Last; s++) map[s] = (byte)g;
        return map;
    }
}
