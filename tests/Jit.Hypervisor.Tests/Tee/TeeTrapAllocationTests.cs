using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Smccc;
using Jit.Translator;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>
/// Issue 14's "0 bytes allocated per call on the vCPU thread in steady state", through the real trap path:
/// guests/sys/tee-latency soaking (OP-TEE fast calls, null invokes and value echoes, each checked by the guest)
/// runs on the test's thread, which is then the vCPU's, and windows of millions of its instructions, tens of
/// thousands of SMCs each, add no managed allocation there: not in the engine's exit, the dispatcher, the
/// policy, the mediator, the modelled OS or the TA.
/// </summary>
public class TeeTrapAllocationTests
{
    private const ulong Window = 10_000_000;

    [Theory]
    [InlineData("tier1=sync,threshold=0")]
    [InlineData("tier1=off")]
    public void FastAndYieldingCallsAllocateNothingOnTheVcpuThread(string jit)
    {
        string elf = TestProcess.Guest("tee", "sys-tee-latency.elf");
        var console = new SoakWatch();
        using var machine = LinuxMachine.Create(new LinuxOptions(elf, null, "tee.soak=1000", 64UL << 20, 1, Tee: TeeKind.Optee), console);
        machine.Domain.Smccc.Policy = SmcccPolicy.Create(controlDomain: false, tee: true);
        machine.Domain.AttachTee(TeeKind.Optee);
        machine.Domain.JitOptions = JitOptions.Parse(jit);
        var vcpu = machine.Vcpu;

        // Steady state: the guest soaks (its measurement and warm-up are over) and a whole window decoded no block.
        int windows = 0;
        while (true)
        {
            Assert.True(++windows <= 200, $"the guest never reached a steady soak (soaking: {console.Soaking})");
            int decoded = vcpu.Engine.BlocksDecoded;
            Assert.Equal(VcpuExit.InstructionLimit, vcpu.Run(Window));
            if (console.Soaking && vcpu.Engine.BlocksDecoded == decoded) break;
        }

        // Four windows: an allocation per call shows in every one; a one-off of the runtime's own in one at most.
        var allocated = new long[4];
        var calls = new ulong[allocated.Length];
        var exits = new VcpuExit[allocated.Length];
        for (int w = 0; w < allocated.Length; w++)
        {
            ulong smc = vcpu.Counters.Smc;
            long before = GC.GetAllocatedBytesForCurrentThread();
            exits[w] = vcpu.Run(Window);
            allocated[w] = GC.GetAllocatedBytesForCurrentThread() - before;
            calls[w] = vcpu.Counters.Smc - smc;
        }

        // Asserted only now: xunit's comparers allocate.
        Assert.All(exits, e => Assert.Equal(VcpuExit.InstructionLimit, e));
        Assert.False(console.Failed, "the guest got a wrong answer");
        Assert.True(calls.Min() >= 10_000, $"only {calls.Min()} SMCs in a window");
        Assert.True(allocated.Min() == 0,
            $"{jit}: bytes allocated per window of {Window:N0} guest instructions ({string.Join(", ", calls)} SMCs): {string.Join(", ", allocated)}");
    }

    /// <summary>The guest's console, watched for "soak" and "FAIL" without allocating (it is written on the vCPU thread).</summary>
    private sealed class SoakWatch : ConsoleBackend.WriteOnlyStream
    {
        private static readonly byte[] Soak = "soak"u8.ToArray(), Fail = "FAIL"u8.ToArray();
        private int soakAt, failAt;

        public bool Soaking { get; private set; }
        public bool Failed { get; private set; }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            foreach (byte b in buffer)
            {
                Soaking |= Match(Soak, ref soakAt, b);
                Failed |= Match(Fail, ref failAt, b);
            }
        }

        private static bool Match(byte[] word, ref int at, byte b)
        {
            at = b == word[at] ? at + 1 : b == word[0] ? 1 : 0;
            if (at < word.Length) return false;
            at = 0;
            return true;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void WriteByte(byte value)
        {
            Span<byte> one = stackalloc byte[1];
            one[0] = value;
            Write(one);
        }

        public override void Flush() { }
    }
}
