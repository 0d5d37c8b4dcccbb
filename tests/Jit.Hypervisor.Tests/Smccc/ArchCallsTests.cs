using Jit.Hypervisor.Smccc;

namespace Jit.Hypervisor.Tests.Smccc;

public class ArchCallsTests
{
    private static (SmcccOutcome, SmcccCall) Call(uint fid, ulong x1 = 0)
    {
        var c = new SmcccCall { X0 = fid, X1 = x1 };
        var outcome = new ArchCalls().Call(ref c);
        return (outcome, c);
    }

    [Fact]
    public void VersionIs11()
    {
        var (o, c) = Call(ArchCalls.SmcccVersion);
        Assert.Equal(SmcccOutcome.Done, o);
        Assert.Equal(0x10001UL, c.X0);
    }

    [Theory]
    [InlineData(0x8000_0000u, 0L)]    // SMCCC_VERSION
    [InlineData(0x8000_0001u, 0L)]    // SMCCC_ARCH_FEATURES
    [InlineData(0x8000_8000u, 1L)]    // SMCCC_ARCH_WORKAROUND_1: not affected (CSV2)
    [InlineData(0x8000_7FFFu, -2L)]   // SMCCC_ARCH_WORKAROUND_2: not required
    [InlineData(0x8000_3FFFu, 1L)]    // SMCCC_ARCH_WORKAROUND_3: not affected
    [InlineData(0x8400_0000u, -1L)]   // PSCI_VERSION: not an Arm architecture call
    public void FeaturesReportOnlyWhatIsImplemented(uint queried, long expected)
    {
        var (o, c) = Call(ArchCalls.SmcccArchFeatures, queried);
        Assert.Equal(SmcccOutcome.Done, o);
        Assert.Equal((ulong)expected, c.X0);
    }

    [Fact]
    public void FeaturesLooksOnlyAtW1()
    {
        var (_, c) = Call(ArchCalls.SmcccArchFeatures, 0xDEAD_0000_8000_0000);
        Assert.Equal(0UL, c.X0);
    }

    [Fact]
    public void OtherFunctionsAreUnknown()
    {
        Assert.Equal(SmcccOutcome.Unknown, Call(0x8000_8000).Item1);
        Assert.Equal(SmcccOutcome.Unknown, Call(0x8000_0002).Item1);
    }
}
