using Jit.Devices.Storage;
using Jit.Devices.Virtio;

namespace Jit.Devices.Tests.Virtio;

/// <summary>
/// A driver that breaks the split-virtqueue rules: the device must mark itself DEVICE_NEEDS_RESET, tell the driver
/// through the configuration vector, complete nothing, write nothing, and keep working after a reset.
/// </summary>
public sealed class VirtqueueHostileTests : IDisposable
{
    private const ulong NotRam = 0x1000; // below RAM, a hole in the guest's map
    private readonly string path;
    private readonly IBlockImage image;
    private readonly VirtioTestBed bed;
    private DriverQueue q;

    public VirtqueueHostileTests()
    {
        path = Path.Combine(Path.GetTempPath(), $"jit-hostile-{Guid.NewGuid():n}.img");
        File.WriteAllBytes(path, Enumerable.Range(0, 1 << 16).Select(i => (byte)(i * 13)).ToArray());
        image = RawImage.Open(path, readOnly: false);
        bed = new VirtioTestBed(() => new VirtioBlock(image));
        bed.Probe();
        q = Start();
    }

    public void Dispose()
    {
        bed.Dispose();
        image.Dispose();
        File.Delete(path);
    }

    private DriverQueue Start(ulong extra = VirtioFeatures.RingIndirectDescriptors, DriverQueue? reuse = null)
    {
        bed.EnableMsix();
        Assert.True(bed.Negotiate(VirtioFeatures.Version1 | extra));
        bed.ConfigVector = 0;
        var queue = bed.SetupQueue(0, vector: 1, size: 16, reuse: reuse);
        bed.DriverOk();
        return queue;
    }

    private (ulong Header, ulong Status) Header(uint type, ulong sector = 0)
    {
        ulong header = bed.Ram.Alloc(16, 16), status = bed.Ram.Alloc(1, 1);
        bed.Ram.W32(header, type);
        bed.Ram.W64(header + 8, sector);
        return (header, status);
    }

    /// <summary>Notifies, then checks the device is broken, said so on vector 0, used nothing and wrote nothing.</summary>
    private void KickExpectingBroken()
    {
        var before = bed.Ram.Snapshot();
        var imageBefore = ReadImage();
        q.Kick();
        Assert.NotEqual(0, bed.Status & VirtioDeviceStatus.DeviceNeedsReset);
        Assert.Equal(1, bed.Msi.Count(0x100));
        Assert.Equal(0, bed.Msi.Count(0x101));
        Assert.Equal(before, bed.Ram.Snapshot());
        Assert.Equal(imageBefore, ReadImage());
        // Notifying again does nothing, and raises nothing more.
        q.Kick();
        Assert.Single(bed.Msi.Messages);
    }

    private byte[] ReadImage()
    {
        var b = new byte[image.Size];
        Assert.Equal(BlockStatus.Ok, image.Read(0, b));
        return b;
    }

    [Fact]
    public void ReadIntoABufferOutsideRamBreaksTheDevice()
    {
        var (header, status) = Header(VirtioBlock.TypeIn);
        q.Post(new Buffer(header, 16, false), new Buffer(NotRam, 512, true), new Buffer(status, 1, true));
        KickExpectingBroken();
    }

    [Fact]
    public void WriteFromABufferOutsideRamLeavesTheImageAlone()
    {
        var (header, status) = Header(VirtioBlock.TypeOut);
        q.Post(new Buffer(header, 16, false), new Buffer(NotRam, 4096, false), new Buffer(status, 1, true));
        KickExpectingBroken();
    }

    [Fact]
    public void BufferThatRunsOffTheEndOfRamBreaksTheDevice()
    {
        var (header, status) = Header(VirtioBlock.TypeIn);
        q.Post(new Buffer(header, 16, false), new Buffer(GuestRam.Base + GuestRam.Size - 256, 512, true), new Buffer(status, 1, true));
        KickExpectingBroken();
    }

    [Fact]
    public void DescriptorLoopIsFoundWithoutHanging()
    {
        var (header, _) = Header(VirtioBlock.TypeFlush);
        q.WriteDescriptor(q.DescriptorTable, 0, header, 16, DriverQueue.Next, 1);
        q.WriteDescriptor(q.DescriptorTable, 1, header, 16, DriverQueue.Next, 0);
        q.MakeAvailable(0);
        KickExpectingBroken();
    }

    [Fact]
    public void NextIndexBeyondTheTableBreaksTheDevice()
    {
        var (header, _) = Header(VirtioBlock.TypeFlush);
        q.WriteDescriptor(q.DescriptorTable, 0, header, 16, DriverQueue.Next, 16);
        q.MakeAvailable(0);
        KickExpectingBroken();
    }

    [Fact]
    public void HeadIndexBeyondTheTableBreaksTheDevice()
    {
        q.MakeAvailable(200);
        KickExpectingBroken();
    }

    [Fact]
    public void AvailableIndexRunningAheadOfTheQueueBreaksTheDevice()
    {
        q.SetAvailIndex(17);
        KickExpectingBroken();
    }

    [Fact]
    public void ReadableDescriptorAfterAWritableOneBreaksTheDevice()
    {
        var (header, status) = Header(VirtioBlock.TypeFlush);
        q.Post(new Buffer(status, 1, true), new Buffer(header, 16, false));
        KickExpectingBroken();
    }

    [Fact]
    public void NestedIndirectTableBreaksTheDevice()
    {
        var (header, status) = Header(VirtioBlock.TypeFlush);
        ulong inner = bed.Ram.Alloc(32, 16), outer = bed.Ram.Alloc(16, 16);
        q.WriteDescriptor(inner, 0, header, 16, DriverQueue.Next, 1);
        q.WriteDescriptor(inner, 1, status, 1, DriverQueue.Write, 0);
        q.WriteDescriptor(outer, 0, inner, 32, DriverQueue.Indirect, 0);
        q.WriteDescriptor(q.DescriptorTable, 0, outer, 16, DriverQueue.Indirect, 0);
        q.MakeAvailable(0);
        KickExpectingBroken();
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(24u)]
    [InlineData(16u * 17)]
    public void IndirectTableOfABadLengthBreaksTheDevice(uint length)
    {
        ulong table = bed.Ram.Alloc(16 * 17, 16);
        q.WriteDescriptor(q.DescriptorTable, 0, table, length, DriverQueue.Indirect, 0);
        q.MakeAvailable(0);
        KickExpectingBroken();
    }

    [Fact]
    public void IndirectDescriptorWithoutTheFeatureBreaksTheDevice()
    {
        q = Start(extra: 0);
        bed.Msi.Messages.Clear();
        var (header, status) = Header(VirtioBlock.TypeFlush);
        q.PostIndirect(new Buffer(header, 16, false), new Buffer(status, 1, true));
        KickExpectingBroken();
    }

    [Fact]
    public void DescriptorTableOutsideRamBreaksTheDevice()
    {
        bed.Negotiate(VirtioFeatures.Version1);
        bed.ConfigVector = 0;
        bed.W(bed.Common + 0x16, 2, 0);
        bed.W(bed.Common + 0x20, 8, NotRam);
        bed.W(bed.Common + 0x28, 8, bed.Ram.Alloc(64));
        bed.W(bed.Common + 0x30, 8, bed.Ram.Alloc(256));
        bed.W(bed.Common + 0x1C, 2, 1);
        bed.DriverOk();
        var avail = bed.R(bed.Common + 0x28, 8);
        bed.Ram.W16(avail + 2, 1);
        bed.W(bed.Notify, 2, 0);
        Assert.NotEqual(0, bed.Status & VirtioDeviceStatus.DeviceNeedsReset);
    }

    [Fact]
    public void MisalignedRingIsRefusedWhenEnabled()
    {
        bed.Negotiate(VirtioFeatures.Version1);
        bed.W(bed.Common + 0x16, 2, 0);
        bed.W(bed.Common + 0x20, 8, bed.Ram.Alloc(4096) + 8);
        bed.W(bed.Common + 0x1C, 2, 1);
        Assert.NotEqual(0, bed.Status & VirtioDeviceStatus.DeviceNeedsReset);
    }

    [Fact]
    public void WithoutMsixTheBreakIsAConfigurationInterruptOnIntx()
    {
        Assert.True(bed.Negotiate(VirtioFeatures.Version1));
        bed.Config.Write16(bed.Config.FindCapability(0x11) + 2, 0); // MSI-X off
        q = bed.SetupQueue(0, size: 16);
        bed.DriverOk();
        q.MakeAvailable(99);
        q.Kick();
        Assert.True(bed.Line.Level);
        Assert.Equal(2, bed.ReadIsr());
        Assert.False(bed.Line.Level);
    }

    [Fact]
    public void ResetAfterABreakGivesAWorkingDevice()
    {
        q.MakeAvailable(99);
        q.Kick();
        Assert.NotEqual(0, bed.Status & VirtioDeviceStatus.DeviceNeedsReset);
        q = Start();
        Assert.Equal(0, bed.Status & VirtioDeviceStatus.DeviceNeedsReset);
        var (header, status) = Header(VirtioBlock.TypeIn, 1);
        ulong data = bed.Ram.Alloc(512);
        q.Post(new Buffer(header, 16, false), new Buffer(data, 512, true), new Buffer(status, 1, true));
        q.Kick();
        Assert.Equal(513u, q.TakeUsed().Length);
        Assert.Equal(VirtioBlock.StatusOk, bed.Ram.Read(status, 1)[0]);
        Assert.Equal(Enumerable.Range(512, 512).Select(i => (byte)(i * 13)).ToArray(), bed.Ram.Read(data, 512));
    }

    /// <summary>
    /// Random descriptors and ring indices whose buffers lie outside RAM, anywhere in the address space, or in one
    /// scratch area: however the device reacts, it throws nothing and writes nowhere in RAM but the scratch area
    /// and its rings; a region nothing names keeps its contents.
    /// </summary>
    [Fact]
    public void RandomRingsNeverEscapeTheirBuffers()
    {
        var random = new Random(1234);
        ulong sentinel = bed.Ram.Alloc(256 * 1024);
        var pattern = Enumerable.Repeat((byte)0x5A, 256 * 1024).ToArray();
        bed.Ram.Write(sentinel, pattern);
        ulong scratch = bed.Ram.Alloc(64 * 1024);
        int breaks = 0, completions = 0;
        for (int round = 0; round < 2000; round++)
        {
            if ((bed.Status & VirtioDeviceStatus.DeviceNeedsReset) != 0)
            {
                breaks++;
                q = Start(reuse: q);
            }
            for (int d = 0; d < q.Size; d++)
            {
                ulong address = random.Next(4) switch
                {
                    0 => (ulong)random.NextInt64() | (ulong)random.Next(2) << 63,
                    1 => NotRam + (ulong)random.Next(4096),
                    _ => scratch + (ulong)random.Next(60 * 1024),
                };
                q.WriteDescriptor(q.DescriptorTable, d, address, (uint)random.Next(4096), (ushort)random.Next(8), (ushort)random.Next(20));
            }
            for (int a = random.Next(3); a > 0; a--) q.MakeAvailable((ushort)random.Next(20));
            q.Kick();
            while (q.TryTakeUsed(out _, out _)) completions++;
        }
        Assert.True(breaks > 10, $"only {breaks} breaks");
        Assert.Equal(pattern, bed.Ram.Read(sentinel, pattern.Length));
    }
}
