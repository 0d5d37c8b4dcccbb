using Jit.Hypervisor.Smccc;
using Jit.Runtime;

namespace Jit.Hypervisor.Tests.Smccc;

[CollectionDefinition(nameof(StandardErrorCollection), DisableParallelization = true)]
public sealed class StandardErrorCollection;

/// <summary>Runs alone: it captures the process's standard error, where Jit.Runtime.Log writes.</summary>
[Collection(nameof(StandardErrorCollection))]
public sealed class SmcccDeniedLogTests
{
    [Fact]
    public void ADeniedOwnerIsLoggedOncePerDomainNamingTheFirstFunction()
    {
        using var d1 = new Domain("one", domid: 1);
        using var d2 = new Domain("two", domid: 2);
        var captured = new StringWriter();
        var original = Console.Error;
        Console.SetError(captured);
        try
        {
            void Call(Domain d, uint fid, SmcccConduit conduit = SmcccConduit.Smc)
            {
                var c = new SmcccCall { X0 = fid, DomId = d.DomId, Vcpu = 1, Conduit = conduit };
                d.Smccc.Dispatch(ref c);
                Assert.Equal(ulong.MaxValue, c.X0);
            }
            for (int i = 0; i < 100; i++)
            {
                Call(d1, 0x8200_0004);
                Call(d1, 0x8200_0001, SmcccConduit.Hvc);
                Call(d1, 0xBF00_FF01);
                Call(d1, 0xB200_0009);
                Call(d2, 0x8200_0003, SmcccConduit.Hvc);
            }
        }
        finally
        {
            Console.SetError(original);
        }
        string[] lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("jit: d1: SMCCC: SiP service call 0x82000004 (SMC, vCPU 1) is not permitted", lines[0]);
        Assert.StartsWith("jit: d1: SMCCC: trusted OS call 0xbf00ff01 (SMC, vCPU 1) is not permitted", lines[1]);
        Assert.StartsWith("jit: d2: SMCCC: SiP service call 0x82000003 (HVC, vCPU 1) is not permitted", lines[2]);
        Assert.All(lines, l => Assert.Contains("answered NOT_SUPPORTED", l));
        Assert.Equal(200UL, d1.Smccc.Denied[(int)SmcccOwner.SiP]);
        Assert.Equal(200UL, d1.Smccc.Denied[(int)SmcccOwner.TrustedOs] + d1.Smccc.Denied[(int)SmcccOwner.TrustedOsLast]);
    }

    /// <summary>A guest that tries function IDs at random (the hostile TEE guest makes 10^6 calls) gets a bounded log.</summary>
    [Fact]
    public void UnknownFunctionIdsAreLoggedAtMost32PerDomain()
    {
        using var d = new Domain("prober", domid: 3);
        var captured = new StringWriter();
        var original = Console.Error;
        Console.SetError(captured);
        try
        {
            for (uint i = 0; i < 1000; i++)
            {
                var c = new SmcccCall { X0 = 0x8000_7000 + i, DomId = d.DomId, Conduit = SmcccConduit.Hvc };
                d.Smccc.Dispatch(ref c);
                Assert.Equal(ulong.MaxValue, c.X0);
            }
        }
        finally
        {
            Console.SetError(original);
        }
        string[] lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(UnknownCallLog.Limit + 1, lines.Length);
        Assert.Contains("more than 32 different unknown function IDs", lines[^1]);
    }
}
