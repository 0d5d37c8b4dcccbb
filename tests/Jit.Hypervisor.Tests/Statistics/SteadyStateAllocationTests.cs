using Jit.Hypervisor.Builder;
using Jit.Translator;

namespace Jit.Hypervisor.Tests.Statistics;

/// <summary>
/// The hot path allocates nothing: once a compute loop has been decoded (and, with tier 1, compiled), running
/// it for millions more guest instructions adds no managed allocation on the vCPU's thread, compiled or
/// interpreted. Allocation there would mean garbage collections pausing every vCPU of a busy guest.
/// </summary>
public class SteadyStateAllocationTests
{
    private const ulong Window = 10_000_000, Measured = 50_000_000;

    [Theory]
    [InlineData("tier1=sync,threshold=0")]
    [InlineData("tier1=off")]
    public void ComputeLoopAllocatesNothingOnTheVcpuThread(string jit)
    {
        // crc-long: CRC-32 and Shell sort rounds, about 4 million instructions each, 240 of them.
        string elf = TestProcess.Guest("crc", "crc-long.elf");
        using var machine = BareMetalMachine.Create(elf, Stream.Null);
        machine.Domain.JitOptions = JitOptions.Parse(jit);
        var vcpu = machine.Vcpu;

        // Steady state: a whole window in which no block was decoded. With threshold 0 in sync mode a block is
        // compiled on its first entry, so that means nothing was compiled either (the compiler's own counters
        // are process-wide, and other tests compile concurrently).
        int windows = 0;
        while (true)
        {
            Assert.True(++windows <= 20, "the guest never reached a steady state (it keeps decoding blocks)");
            int decoded = vcpu.Engine.BlocksDecoded;
            Assert.Equal(VcpuExit.InstructionLimit, vcpu.Run(Window));
            if (vcpu.Engine.BlocksDecoded == decoded) break;
        }

        // Four windows: an allocation on the hot path shows in every one; a one-off of the runtime's own (a
        // method promoted by tiered compilation meanwhile) in one at most.
        var allocated = new long[4];
        var instructions = new ulong[allocated.Length];
        var exits = new VcpuExit[allocated.Length];
        for (int w = 0; w < allocated.Length; w++)
        {
            ulong retired = vcpu.Retired;
            long before = GC.GetAllocatedBytesForCurrentThread();
            exits[w] = vcpu.Run(Measured);
            allocated[w] = GC.GetAllocatedBytesForCurrentThread() - before;
            instructions[w] = vcpu.Retired - retired;
        }

        // Asserted only now: xunit's comparers allocate.
        Assert.All(exits, e => Assert.Equal(VcpuExit.InstructionLimit, e));
        Assert.True(instructions.Min() >= Measured, $"only {instructions.Min()} instructions ran in a window");
        Assert.True(allocated.Min() == 0,
            $"{jit}: bytes allocated per window of {Measured:N0} guest instructions: {string.Join(", ", allocated)}");
    }
}
