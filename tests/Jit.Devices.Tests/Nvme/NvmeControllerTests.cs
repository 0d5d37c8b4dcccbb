using Jit.Devices.Nvme;
using Jit.Devices.Pci;
using Jit.Devices.Storage;

namespace Jit.Devices.Tests.Nvme;

/// <summary>The PCI function, the controller registers, enable, reset and shutdown.</summary>
public sealed class NvmeControllerTests : NvmeTestBase
{
    [Fact]
    public void ProbesAsAnNvmExpressFunctionWithA64BitRegisterBarAndMsiX()
    {
        var bed = Bed(Raw());
        Assert.Equal(NvmeController.VendorId, bed.Config.Read16(PciFunction.VendorIdRegister));
        Assert.Equal(NvmeController.DeviceId, bed.Config.Read16(PciFunction.DeviceIdRegister));
        Assert.Equal(0x0108_0200u, bed.Config.Read32(8) & 0xFFFF_FF00); // class 01, subclass 08, prog-if 02
        Assert.Equal(1, bed.Config.Read8(PciFunction.InterruptPinRegister));
        bed.Probe();
        int msix = bed.Config.FindCapability(0x11);
        Assert.NotEqual(0, msix);
        Assert.Equal(9, (bed.Config.Read16(msix + 2) & 0x7FF) + 1);        // admin + 8 I/O queues
        Assert.Equal((uint)NvmeController.MsixTableOffset, bed.Config.Read32(msix + 4)); // BAR 0
        Assert.Equal((uint)NvmeController.MsixPbaOffset, bed.Config.Read32(msix + 8));
        Assert.NotEqual(0, bed.Config.FindCapability(0x05)); // MSI
        Assert.NotEqual(0, bed.Config.FindCapability(0x10)); // PCI Express
    }

    [Fact]
    public void CapAndVersionDescribeTheController()
    {
        var bed = Bed(Raw());
        bed.Probe();
        ulong cap = bed.R(NvmeRegisters.Cap, 8);
        Assert.Equal(1023UL, cap & 0xFFFF);              // MQES
        Assert.Equal(1UL, cap >> 16 & 1);                // CQR
        Assert.Equal(0UL, cap >> 32 & 0xF);              // DSTRD
        Assert.Equal(1UL, cap >> 37 & 1);                // NVM command set
        Assert.Equal(0UL, cap >> 48 & 0xF);              // MPSMIN 4 KiB
        Assert.Equal(4UL, cap >> 52 & 0xF);              // MPSMAX 64 KiB
        Assert.Equal(cap & 0xFFFF_FFFF, bed.R(NvmeRegisters.Cap, 4));
        Assert.Equal(cap >> 32, bed.R(NvmeRegisters.Cap + 4, 4));
        Assert.Equal(0x0001_0400UL, bed.R(NvmeRegisters.Vs, 4));
        Assert.Equal(0UL, bed.R(NvmeRegisters.Csts, 4));
        // Read-only registers ignore writes.
        bed.W(NvmeRegisters.Cap, 8, 0);
        bed.W(NvmeRegisters.Vs, 4, 0);
        Assert.Equal(cap, bed.R(NvmeRegisters.Cap, 8));
        Assert.Equal(0x0001_0400UL, bed.R(NvmeRegisters.Vs, 4));
    }

    [Fact]
    public void AdminQueueRegistersKeepWhatIsWrittenWithoutReservedBits()
    {
        var bed = Bed(Raw());
        bed.Probe();
        bed.W(NvmeRegisters.Aqa, 4, 0xFFFF_FFFF);
        Assert.Equal(0x0FFF_0FFFUL, bed.R(NvmeRegisters.Aqa, 4));
        bed.W(NvmeRegisters.Asq, 8, 0x1234_5678_9ABC_DEFF);
        Assert.Equal(0x1234_5678_9ABC_D000UL, bed.R(NvmeRegisters.Asq, 8));
        bed.W(NvmeRegisters.Acq, 4, 0x4000_1FFF);
        bed.W(NvmeRegisters.Acq + 4, 4, 0x2);
        Assert.Equal(0x2_4000_1000UL, bed.R(NvmeRegisters.Acq, 8));
    }

    [Fact]
    public void EnableSetsReadyAndDisableClearsIt()
    {
        var bed = Bed(Raw());
        bed.Probe();
        bed.Enable();
        Assert.Equal(1u, bed.Csts);
        Assert.Equal(NvmeTestBed.CcEnable | NvmeTestBed.CcEntrySizes, (uint)bed.R(NvmeRegisters.Cc, 4));
        bed.Disable();
        Assert.Equal(0u, bed.Csts);
        // Enabled again, the admin queue starts over at entry 0 with phase 1.
        bed.Enable();
        Assert.Equal(4096, bed.Identify(1).Length);
    }

    [Theory]
    [InlineData(5, 32u)]  // 128 KiB pages: beyond MPSMAX
    [InlineData(0, 1u)]   // a one-entry admin queue
    public void AnEnableTheControllerCannotRunIsFatal(int mps, uint entries)
    {
        var bed = Bed(Raw());
        bed.Probe();
        bed.Enable(entries, mps, expectReady: false);
        Assert.Equal(NvmeRegisters.CstsFatal, bed.Csts);
        // A reset clears it, and a good configuration then runs.
        bed.Disable();
        Assert.Equal(0u, bed.Csts);
        bed.Enable();
        Assert.Equal(1u, bed.Csts);
    }

    [Fact]
    public void OnlyTheNvmCommandSetCanBeSelected()
    {
        var bed = Bed(Raw());
        bed.Probe();
        bed.W(NvmeRegisters.Aqa, 4, 31 | 31 << 16);
        bed.W(NvmeRegisters.Asq, 8, bed.Ram.Alloc(4096));
        bed.W(NvmeRegisters.Acq, 8, bed.Ram.Alloc(4096));
        bed.W(NvmeRegisters.Cc, 4, NvmeTestBed.CcEnable | NvmeTestBed.CcEntrySizes | 7 << 4);
        Assert.Equal(NvmeRegisters.CstsFatal, bed.Csts);
    }

    [Fact]
    public void ShutdownFlushesTheImageAndReportsComplete()
    {
        var image = new CountingImage(Raw());
        var bed = Bed(image);
        var io = bed.Start();
        bed.W(NvmeRegisters.Cc, 4, NvmeTestBed.CcEnable | NvmeTestBed.CcEntrySizes | 1 << 14);
        Assert.Equal(1, image.Flushes);
        Assert.Equal(NvmeRegisters.CstsShutdownComplete | NvmeRegisters.CstsReady, bed.Csts);
        // Commands wait for a reset after a shutdown.
        io.Submit(IoOpcode.Flush, 1);
        Assert.False(io.HasCompletion);
        bed.W(NvmeRegisters.Cc, 4, NvmeTestBed.CcEntrySizes);
        Assert.Equal(0u, bed.Csts);
        bed.Enable();
        Assert.Equal(NvmeStatus.Success, bed.SetFeature(FeatureId.NumberOfQueues, 0).Outcome);
    }

    [Fact]
    public void FunctionResetResetsTheControllerAndItsRegisters()
    {
        var (bed, _) = Started();
        Assert.Equal(1u, bed.Csts);
        bed.Controller.Reset();
        Assert.Equal(0, bed.Config.Read16(PciFunction.CommandRegister));
        bed.Probe();
        Assert.Equal(0u, bed.Csts);
        Assert.Equal(0UL, bed.R(NvmeRegisters.Cc, 4));
        Assert.Equal(0UL, bed.R(NvmeRegisters.Asq, 8));
        var io = bed.Start();
        ulong data = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 0, 8, data).Outcome);
    }

    [Fact]
    public void WithoutBusMasteringCommandsWaitForIt()
    {
        var bed = Bed(Raw());
        bed.Probe();
        bed.Enable();
        bed.Config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace);
        ulong data = bed.Ram.Alloc(4096);
        bed.Admin.Submit(AdminOpcode.Identify, 0, data, 0, 1);
        Assert.False(bed.Admin.HasCompletion);
        bed.Config.Write16(PciFunction.CommandRegister, PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster);
        bed.Admin.Ring();
        Assert.Equal(NvmeStatus.Success, bed.Admin.Take().Outcome);
    }

    [Fact]
    public void AnAdminQueueOutsideRamSetsControllerFatalStatus()
    {
        var bed = Bed(Raw());
        bed.Probe();
        var admin = bed.EnableAt(0x7000_0000, bed.Ram.Alloc(4096), 32);
        bed.W(admin.SqDoorbell, 4, 1);
        Assert.Equal(NvmeRegisters.CstsReady | NvmeRegisters.CstsFatal, bed.Csts);
        // Nothing more is fetched until a reset; the reset clears CFS.
        bed.W(admin.SqDoorbell, 4, 2);
        bed.Disable();
        Assert.Equal(0u, bed.Csts);
    }

    [Fact]
    public void ACompletionQueueOutsideRamSetsControllerFatalStatus()
    {
        var bed = Bed(Raw());
        bed.Probe();
        ulong sq = bed.Ram.Alloc(4096);
        bed.EnableAt(sq, 0x7000_0000, 32);
        ulong data = bed.Ram.Alloc(4096);
        bed.Admin.Submit(AdminOpcode.Identify, 0, data, 0, 1);
        Assert.Equal(NvmeRegisters.CstsReady | NvmeRegisters.CstsFatal, bed.Csts);
    }

    [Fact]
    public void DoorbellsReadZeroAndMisalignedAccessesAreRejected()
    {
        var bed = Bed(Raw());
        bed.Probe();
        bed.Enable();
        Assert.Equal(0UL, bed.R(NvmeController.DoorbellOffset, 4));
        var window = bed.Bridge.MemoryWindows[0];
        ulong bar = NvmeTestBed.Bar0 - Pci.TestLayout.MemBase;
        Assert.False(window.Read(bar + 2, 4, out _));
        Assert.False(window.Write(bar + NvmeController.DoorbellOffset + 2, 4, 1));
        // Narrow writes are ignored, narrow reads see the register's bytes.
        bed.W(NvmeRegisters.Cc, 1, 0);
        Assert.Equal(1u, bed.Csts);
        Assert.Equal(0x04UL, bed.R(NvmeRegisters.Vs + 1, 1));
    }

    [Fact]
    public void AReadOnlyImageStillEnablesAndReadsButReportsWriteProtection()
    {
        var bed = Bed(Raw(readOnly: true));
        bed.Probe();
        bed.Enable();
        var ns = bed.Identify(0, 1);
        Assert.Equal(1, ns[99] & 1); // NSATTR: write protected
        Assert.IsType<RawImage>(bed.Controller.Image);
    }
}
