namespace Jit.Hypervisor.Smccc;

/// <summary>The Arm Architecture Service (owner 0): which SMCCC version the platform speaks and which of these calls exist.</summary>
public sealed class ArchCalls : ISmcccService
{
    public const uint SmcccVersion = 0x8000_0000;
    public const uint SmcccArchFeatures = 0x8000_0001;
    public const uint ArchWorkaround1 = 0x8000_8000, ArchWorkaround2 = 0x8000_7FFF, ArchWorkaround3 = 0x8000_3FFF;

    /// <summary>ARCH_FEATURES answer for WORKAROUND_1/3 meaning "this PE is not affected" (DEN0028 7.5, 7.7).</summary>
    public const long WorkaroundNotNeeded = 1;
    /// <summary>NOT_REQUIRED: the SSB mitigation (WORKAROUND_2) is not needed on this PE (DEN0028 7.6).</summary>
    public const long NotRequired = -2;

    /// <summary>SMCCC 1.1: major in bits [30:16], minor in [15:0].</summary>
    public const long Version = (1 << 16) | 1;

    public string Name => "Arm architecture calls";

    public SmcccOutcome Call(ref SmcccCall call)
    {
        switch (call.FunctionId)
        {
            case SmcccVersion:
                call.Return(Version);
                return SmcccOutcome.Done;
            case SmcccArchFeatures:
                // The queried ID travels in W1 whatever the caller's convention (DEN0028 7.3). The emulated CPU
                // does not speculate (ID_AA64PFR0_EL1 reports CSV2 and CSV3), so none of the speculation
                // workarounds is needed, and the answers say so rather than "not supported" (vulnerable).
                call.Return((uint)call.X1 switch
                {
                    SmcccVersion or SmcccArchFeatures => SmcccResult.Success,
                    ArchWorkaround1 or ArchWorkaround3 => WorkaroundNotNeeded,
                    ArchWorkaround2 => NotRequired,
                    _ => SmcccResult.NotSupported,
                });
                return SmcccOutcome.Done;
            default:
                // Including the workaround calls themselves: ARCH_FEATURES told the guest not to make them.
                return SmcccOutcome.Unknown;
        }
    }
}
