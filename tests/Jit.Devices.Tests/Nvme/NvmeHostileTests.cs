using System.Buffers.Binary;
using Jit.Devices.Nvme;
using Jit.Devices.Pci;
using Jit.Devices.Tests.Pci;
using Jit.Devices.Tests.Virtio;

namespace Jit.Devices.Tests.Nvme;

/// <summary>A guest that resets the controller mid-flight, or writes whatever it likes to registers, doorbells and queues.</summary>
public sealed class NvmeHostileTests : NvmeTestBase
{
    [Fact]
    public void AResetDuringIoDropsTheQueuedCommandsAndTheControllerComesBack()
    {
        var image = new CountingImage(Raw());
        var bed = Bed(image);
        bed.Start();
        // Writes stalled behind a full two-entry completion queue, and an event request held.
        var io = bed.CreateIoQueues(2, entries: 2, vector: 2, sqEntries: 16);
        ulong data = bed.Ram.Alloc(4096);
        for (int i = 0; i < 6; i++) io.Submit(IoOpcode.Write, 1, data, 0, (uint)i, 0, 0, ring: false);
        io.Ring();
        Assert.Equal(1, image.Writes);
        bed.Admin.Submit(AdminOpcode.AsynchronousEventRequest);
        bed.Disable();
        // Freeing the entry after the reset fetches nothing: the queue is gone.
        io.TryPoll(out _);
        io.ReleaseCompletions();
        io.Ring();
        Assert.Equal(1, image.Writes);
        Assert.Equal(0u, bed.Csts);

        // Enabled again, with an admin queue elsewhere: the old queues and the held request stay gone.
        bed.Enable();
        Assert.Equal(NvmeStatus.Success, bed.SetFeature(FeatureId.NumberOfQueues, 7 | 7 << 16).Outcome);
        Assert.False(bed.Admin.HasCompletion);
        var fresh = bed.CreateIoQueues(2, vector: 2);
        Assert.Equal(NvmeStatus.Success, fresh.Io(IoOpcode.Read, 0, 8, data).Outcome);
        Assert.Equal(1, image.Writes);
    }

    [Fact]
    public void RandomRegisterDoorbellAndTableAccessesNeverThrow()
    {
        var bed = Bed(Raw());
        bed.Start();
        var window = bed.Bridge.MemoryWindows[0];
        ulong bar = NvmeTestBed.Bar0 - TestLayout.MemBase;
        var random = new Random(1234);
        int[] sizes = [1, 2, 4, 8];
        int ready = 0;
        for (int i = 0; i < 10_000; i++)
        {
            int size = sizes[random.Next(4)];
            // Mostly registers and the low doorbells, sometimes anywhere in the BAR (the MSI-X table too).
            ulong offset = random.Next(4) switch
            {
                0 => (ulong)random.Next(0x40),
                1 => NvmeController.DoorbellOffset + (ulong)random.Next(0x60),
                _ => (ulong)random.Next((int)NvmeController.RegisterBarSize - 8),
            };
            if (random.Next(3) != 0) offset &= ~(ulong)(size - 1);
            ulong value = random.Next(4) switch
            {
                0 => (ulong)random.Next(64),
                1 => ulong.MaxValue,
                _ => (ulong)random.NextInt64(),
            };
            // Often enough, what a driver writes to bring the controller up, with queues somewhere in RAM (whose
            // bytes are scribbled on below), so that doorbells reach commands.
            if (random.Next(20) == 0)
            {
                window.Write(bar + NvmeRegisters.Cc, 4, NvmeTestBed.CcEntrySizes);
                window.Write(bar + NvmeRegisters.Aqa, 4, (uint)random.Next(64) | (uint)random.Next(64) << 16);
                window.Write(bar + NvmeRegisters.Asq, 8, GuestRam.Base + (ulong)random.Next(4096) * 4096);
                window.Write(bar + NvmeRegisters.Acq, 8, GuestRam.Base + (ulong)random.Next(4096) * 4096);
                offset = NvmeRegisters.Cc;
                size = 4;
                value = NvmeTestBed.CcEnable | NvmeTestBed.CcEntrySizes | (uint)random.Next(2) << 7 | (random.Next(20) == 0 ? 1u << 14 : 0);
            }
            if (random.Next(2) == 0) window.Write(bar + offset, size, value);
            else window.Read(bar + offset, size, out _);
            // And doorbell values a driver could write, so the commands in those queues are fetched.
            if (random.Next(4) == 0)
                window.Write(bar + NvmeController.DoorbellOffset + 8 * (ulong)random.Next(3) + 4 * (ulong)random.Next(2), 4, (ulong)random.Next(64));
            if (random.Next(500) == 0)
                bed.Config.Write16(PciFunction.CommandRegister, (ushort)(random.Next(0x800) | (random.Next(4) != 0 ? PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster : 0)));
            if (random.Next(100) == 0) bed.Ram.Write(GuestRam.Base + (ulong)random.Next((16 << 20) - 4096), RandomBytes(random, 4096));
            if (window.Read(bar + NvmeRegisters.Csts, 4, out ulong csts) && (csts & 3) == 1) ready++;
        }
        // The walk did reach a running controller that fetched and completed commands.
        Assert.True(ready > 1000, $"the controller was ready for {ready} accesses only");
        Assert.True(bed.Msi.Messages.Count > 20, $"only {bed.Msi.Messages.Count} completion interrupts");
        // A conventional reset brings back a controller that works.
        bed.Controller.Reset();
        var io = bed.Start();
        ulong data = bed.Ram.Alloc(4096);
        Assert.Equal(NvmeStatus.Success, io.Io(IoOpcode.Read, 3, 8, data).Outcome);
        Assert.Equal(Expected(3 * 512, 4096), bed.Ram.Read(data, 4096));
    }

    [Fact]
    public void RandomCommandsNeverThrowAndEveryOneIsAnswered()
    {
        var bed = Bed(Raw());
        var io = bed.Start(ioEntries: 64);
        var random = new Random(99);
        var entry = new byte[64];
        int answered = 0, held = 0;
        for (int i = 0; i < 2000; i++)
        {
            random.NextBytes(entry);
            bool admin = random.Next(2) == 0;
            // Keep the commands recognisable often enough to reach the deeper paths.
            if (random.Next(2) == 0) entry[0] = admin ? (byte)random.Next(0x0D) : (byte)random.Next(0x0A);
            if (random.Next(2) == 0) entry[1] = 0;                                                    // no fuse, PRPs
            if (random.Next(2) == 0) BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), 1);   // namespace 1
            if (random.Next(2) == 0)
                BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(24), GuestRam.Base + 0x80_0000 + (ulong)random.Next(0x1000) * 4);
            if (random.Next(2) == 0) BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(48), (uint)random.Next(16));
            // Never delete the I/O queue this test submits to, nor shrink the queue count under it.
            if (admin && entry[0] is AdminOpcode.DeleteIoSubmissionQueue or AdminOpcode.DeleteIoCompletionQueue) entry[40] = 5;
            if (admin && entry[0] == AdminOpcode.AsynchronousEventRequest) held++;
            if (admin && entry[0] == AdminOpcode.Abort) entry[40] = 1;
            var queue = admin ? bed.Admin : io;
            queue.SubmitRaw(entry);
            while (queue.TryPoll(out _)) answered++;
            queue.ReleaseCompletions();
            Assert.Equal(1u, bed.Csts & 3);
        }
        Assert.Equal(2000, answered + Math.Min(held, 4));
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var b = new byte[length];
        random.NextBytes(b);
        return b;
    }
}
