namespace Jit.Hypervisor.Smccc;

/// <summary>The Arm Architecture Service (owner 0): which SMCCC version the platform speaks and which of these calls exist.</summary>
public sealed class ArchCalls : ISmcccService
{
    public const uint SmcccVersion = 0x8000_0000;
    public const uint SmcccArchFeatures = 0x8000_0001;

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
                // The queried ID travels in W1 whatever the caller's convention (DEN0028 7.3).
                call.Return(Implements((uint)call.X1) ? SmcccResult.Success : SmcccResult.NotSupported);
                return SmcccOutcome.Done;
            default:
                // Including SMCCC_ARCH_WORKAROUND_1/2: the emulated CPU does not speculate, so there is nothing
                // to work around, and NOT_SUPPORTED tells the guest not to call them.
                return SmcccOutcome.Unknown;
        }
    }

    private static bool Implements(uint fid) => fid is SmcccVersion or SmcccArchFeatures;
}
