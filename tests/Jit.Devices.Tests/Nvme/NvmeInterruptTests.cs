using Jit.Devices.Nvme;
using Jit.Devices.Pci;

namespace Jit.Devices.Tests.Nvme;

/// <summary>Interrupts per completion queue: MSI-X vectors, MSI with INTMS/INTMC, and the INTx level.</summary>
public sealed class NvmeInterruptTests : NvmeTestBase
{
    [Fact]
    public void EachCompletionQueueSignalsItsMsiXVectorOncePerDoorbell()
    {
        var bed = Bed(Raw());
        var io1 = bed.Start();
        Assert.True(bed.Msi.Count(0x100) >= 2);                 // admin completions on vector 0
        var io3 = bed.CreateIoQueues(3, vector: 5);
        ulong data = bed.Ram.Alloc(4096);
        int before = bed.Msi.Count(0x105);
        io3.Submit(IoOpcode.Read, 1, data, 0, 0, 0, 0, ring: false);
        io3.Submit(IoOpcode.Read, 1, data, 0, 8, 0, 0, ring: false);
        io3.Ring();
        Assert.Equal(before + 1, bed.Msi.Count(0x105));
        Assert.True(io3.TryPoll(out _));
        Assert.True(io3.TryPoll(out _));
        io3.ReleaseCompletions();
        Assert.Equal(0, bed.Msi.Count(0x101)); // queue 1 has completed nothing yet
        io1.Io(IoOpcode.Read, 0, 1, data);
        Assert.Equal(1, bed.Msi.Count(0x101));
        Assert.All(bed.Msi.Messages, m => Assert.Equal((uint)(0 << 8 | 1 << 3), m.DeviceId)); // 00:01.0
    }

    [Fact]
    public void AMaskedVectorIsHeldPendingUntilUnmasked()
    {
        var (bed, io) = Started();
        ulong data = bed.Ram.Alloc(4096);
        bed.MaskMsixVector(1, true);
        io.Io(IoOpcode.Read, 0, 1, data);
        Assert.Equal(0, bed.Msi.Count(0x101));
        bed.MaskMsixVector(1, false);
        Assert.Equal(1, bed.Msi.Count(0x101));
    }

    [Fact]
    public void ACompletionQueueWithInterruptsOffSignalsNothing()
    {
        var bed = Bed(Raw());
        bed.Start();
        var quiet = bed.CreateIoQueues(2, vector: 2, interrupts: false);
        ulong data = bed.Ram.Alloc(4096);
        int messages = bed.Msi.Messages.Count;
        Assert.Equal(NvmeStatus.Success, quiet.Io(IoOpcode.Read, 0, 1, data).Outcome);
        Assert.Equal(messages, bed.Msi.Messages.Count);
    }

    [Fact]
    public void WithoutMsiTheIntxLevelFollowsUnconsumedCompletions()
    {
        var bed = Bed(Raw());
        bed.Probe();
        var admin = bed.Enable();
        Assert.False(bed.Line.Level);
        ulong data = bed.Ram.Alloc(4096);
        admin.Submit(AdminOpcode.Identify, 0, data, 0, 1);
        Assert.True(bed.Line.Level);
        Assert.True((bed.Config.Read16(PciFunction.StatusRegister) & PciFunction.StatusInterrupt) != 0);
        Assert.True(admin.TryPoll(out _));
        Assert.True(bed.Line.Level);           // still unconsumed until the head doorbell says so
        admin.ReleaseCompletions();
        Assert.False(bed.Line.Level);
        // INTMS bit 0 masks the pin; INTMC unmasks it while entries wait.
        bed.W(NvmeRegisters.Intms, 4, 1);
        Assert.Equal(1UL, bed.R(NvmeRegisters.Intms, 4));
        admin.Submit(AdminOpcode.Identify, 0, data, 0, 1);
        Assert.False(bed.Line.Level);
        bed.W(NvmeRegisters.Intmc, 4, 1);
        Assert.Equal(0UL, bed.R(NvmeRegisters.Intmc, 4));
        Assert.True(bed.Line.Level);
        // The command register's Interrupt Disable holds the pin low too.
        bed.Config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster | PciFunction.CommandInterruptDisable);
        Assert.False(bed.Line.Level);
        bed.Config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster);
        Assert.True(bed.Line.Level);
        admin.Take();
        Assert.False(bed.Line.Level);
        // Pin-based interrupts have vector 0 only.
        ulong cq = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.InvalidInterruptVector,
            bed.AdminCommand(AdminOpcode.CreateIoCompletionQueue, 0, cq, 0, 1 | 15 << 16, 3 | 1 << 16).Outcome);
        Assert.Equal(NvmeStatus.Success, bed.AdminCommand(AdminOpcode.CreateIoCompletionQueue, 0, cq, 0, 1 | 15 << 16, 3).Outcome);
    }

    [Fact]
    public void AResetDropsTheIntxLevel()
    {
        var bed = Bed(Raw());
        bed.Probe();
        var admin = bed.Enable();
        admin.Submit(AdminOpcode.Identify, 0, bed.Ram.Alloc(4096), 0, 1);
        Assert.True(bed.Line.Level);
        bed.Disable();
        Assert.False(bed.Line.Level);
    }

    [Fact]
    public void MsiSendsTheQueueVectorAndIntmsHoldsIt()
    {
        var bed = Bed(Raw());
        bed.Probe();
        int cap = bed.Config.FindCapability(0x05);
        Assert.Equal(4, bed.Config.Read16(cap + 2) >> 1 & 7); // 16 vectors capable
        bed.Config.Write32(cap + 4, (uint)RecordingMsiSink.Doorbell);
        bed.Config.Write32(cap + 8, (uint)(RecordingMsiSink.Doorbell >> 32));
        bed.Config.Write16(cap + 0x0C, 0x200);
        bed.Config.Write16(cap + 2, 1 | 2 << 4); // enabled, 4 vectors
        bed.Enable();
        ulong data = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.Success, bed.AdminCommand(AdminOpcode.Identify, 0, data, 0, 1).Outcome);
        Assert.Equal(1, bed.Msi.Count(0x200));
        var io = bed.CreateIoQueues(1, vector: 3);
        Assert.Equal(NvmeStatus.InvalidInterruptVector,
            bed.AdminCommand(AdminOpcode.CreateIoCompletionQueue, 0, bed.Ram.Alloc(4096), 0, 2 | 15 << 16, 3 | 4 << 16).Outcome);
        io.Io(IoOpcode.Read, 0, 1, data);
        Assert.Equal(1, bed.Msi.Count(0x203));
        bed.W(NvmeRegisters.Intms, 4, 1 << 3);
        io.Io(IoOpcode.Read, 0, 1, data);
        Assert.Equal(1, bed.Msi.Count(0x203));
        bed.W(NvmeRegisters.Intmc, 4, 1 << 3);
        Assert.Equal(2, bed.Msi.Count(0x203));
        Assert.False(bed.Line.Level);
    }
}
