using Jit.SecureWorld.Optee;

namespace Jit.SecureWorld.Tests;

[CollectionDefinition(nameof(StandardErrorCollection), DisableParallelization = true)]
public sealed class StandardErrorCollection;

/// <summary>Runs alone: it captures the process's standard error, where Jit.Runtime.Log writes.</summary>
[Collection(nameof(StandardErrorCollection))]
public sealed class UnknownCallLogTests
{
    /// <summary>
    /// A client that tries fast-call IDs at random fills its own log limit, not the OS's: another client's first
    /// unknown call is still reported, naming that client, and every call is still answered NOT_SUPPORTED.
    /// </summary>
    [Fact]
    public void OneClientsUnknownCallsDoNotSilenceAnothers()
    {
        var machine = new TestMachine();
        var prober = machine.Guest(1);
        var other = machine.Guest(2);
        var captured = new StringWriter();
        var original = Console.Error;
        Console.SetError(captured);
        try
        {
            for (uint i = 0; i < 200; i++)
                Assert.Equal(ulong.MaxValue, prober.Fast(0xB200_0100 + i).A0);
            Assert.Equal(ulong.MaxValue, other.Fast(0xB200_0F00).A0);
        }
        finally
        {
            Console.SetError(original);
        }
        string[] lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string proberName = $"OP-TEE (client {prober.ClientId})", otherName = $"OP-TEE (client {other.ClientId})";
        Assert.Equal(32, lines.Count(l => l.Contains(proberName + ": function", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.Contains($"{proberName}: more than 32 different unknown functions", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{otherName}: function 0xb2000f00 is not implemented", StringComparison.Ordinal));
    }
}
