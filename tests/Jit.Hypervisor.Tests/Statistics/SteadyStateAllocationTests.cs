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
    private const ulong Window = 10_000_000, Measured = 200_000_000;

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

        ulong retired = vcpu.Retired;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var exit = vcpu.Run(Measured);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        ulong instructions = vcpu.Retired - retired;

        // Asserted only now: xunit's comparers allocate.
        Assert.Equal(VcpuExit.InstructionLimit, exit);
        Assert.True(instructions >= Measured, $"only {instructions} instructions ran");
        Assert.True(allocated == 0,
            $"{jit}: {allocated} bytes allocated over {instructions:N0} guest instructions ({allocated * 1e6 / instructions:F1} per million)");
    }
}
