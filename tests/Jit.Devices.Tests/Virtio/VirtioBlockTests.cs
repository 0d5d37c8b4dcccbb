using Jit.Devices.Storage;
using Jit.Devices.Virtio;

namespace Jit.Devices.Tests.Virtio;

public sealed class VirtioBlockTests : IDisposable
{
    private const ulong Features = VirtioFeatures.Version1 | VirtioBlock.FeatureFlush | VirtioBlock.FeatureBlockSize | VirtioBlock.FeatureSegMax;
    private readonly string folder = Directory.CreateTempSubdirectory("jit-virtio-blk-").FullName;
    private readonly List<IDisposable> owned = [];

    public void Dispose()
    {
        foreach (var d in owned) d.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>A 1 MiB raw image whose byte i is (i / 512 + i) mod 251, so every sector differs.</summary>
    private string PatternFile(string name = "disk.img")
    {
        string path = Path.Combine(folder, name);
        var bytes = new byte[1 << 20];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = Pattern(i);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte Pattern(int i) => (byte)((i / 512 + i) % 251);

    /// <summary>What the pattern file holds at [offset, offset + length): the file itself is open exclusively.</summary>
    private static byte[] Expected(int offset, int length) => [.. Enumerable.Range(offset, length).Select(Pattern)];

    private VirtioTestBed Bed(IBlockImage image, string? serial = null)
    {
        owned.Add(image);
        var bed = new VirtioTestBed(() => new VirtioBlock(image, serial));
        owned.Add(bed);
        bed.Probe();
        return bed;
    }

    /// <summary>The usual bring-up: MSI-X on, vector 0 for configuration, vector 1 for the queue.</summary>
    private static DriverQueue Start(VirtioTestBed bed, ulong features = Features) => bed.Start(features & bed.OfferedFeatures(), queues: 1)[0];

    private static (byte Status, uint Written) Request(VirtioTestBed bed, DriverQueue q, uint type, ulong sector, ulong data, uint length, bool indirect = false)
    {
        ulong header = bed.Ram.Alloc(16, 16), status = bed.Ram.Alloc(1, 1);
        bed.Ram.W32(header, type);
        bed.Ram.W32(header + 4, 0);
        bed.Ram.W64(header + 8, sector);
        bed.Ram.Write(status, [0xEE]);
        var buffers = new List<Buffer> { new(header, 16, false) };
        if (length > 0) buffers.Add(new(data, length, type != VirtioBlock.TypeOut));
        buffers.Add(new(status, 1, true));
        ushort head = indirect ? q.PostIndirect([.. buffers]) : q.Post([.. buffers]);
        q.Kick();
        var (id, written) = q.TakeUsed();
        Assert.Equal(head, id);
        return (bed.Ram.Read(status, 1)[0], written);
    }

    [Fact]
    public void ProbesAsAModernBlockDeviceWithItsCapacity()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        Assert.Equal(0x1042, bed.Config.Read16(2));
        Assert.Equal(0x0180_0001u, bed.Config.Read32(8));     // mass storage/other, revision 1 (non-transitional)
        Assert.True(bed.Config.Read16(0x2E) >= 0x40);
        ulong offered = bed.OfferedFeatures();
        Assert.NotEqual(0UL, offered & VirtioFeatures.Version1);
        Assert.NotEqual(0UL, offered & VirtioBlock.FeatureFlush);
        Assert.Equal(0UL, offered & VirtioBlock.FeatureReadOnly);
        Assert.Equal(2048UL, bed.R(bed.DeviceConfig, 8));    // 1 MiB in sectors
        Assert.Equal(512UL, bed.R(bed.DeviceConfig + 20, 4));
        Assert.Equal(1UL, bed.R(bed.Common + 0x12, 2));       // one queue
    }

    [Fact]
    public void ReadReturnsTheImageSectorsAndSignalsTheQueueVector()
    {
        string path = PatternFile();
        var bed = Bed(RawImage.Open(path, readOnly: false));
        var q = Start(bed);
        ulong data = bed.Ram.Alloc(1024);
        var (status, written) = Request(bed, q, VirtioBlock.TypeIn, 2, data, 1024);
        Assert.Equal(VirtioBlock.StatusOk, status);
        Assert.Equal(1025u, written);
        Assert.Equal(Expected(1024, 1024), bed.Ram.Read(data, 1024));
        Assert.Equal([(RecordingMsiSink.Doorbell, 0x101u, 1u << 3)], bed.Msi.Messages);
    }

    [Fact]
    public void WriteAndFlushReachTheFile()
    {
        string path = PatternFile();
        var image = RawImage.Open(path, readOnly: false);
        var bed = Bed(image);
        var q = Start(bed);
        ulong data = bed.Ram.Alloc(4096);
        var payload = new byte[4096];
        new Random(5).NextBytes(payload);
        bed.Ram.Write(data, payload);
        Assert.Equal((VirtioBlock.StatusOk, 1u), Request(bed, q, VirtioBlock.TypeOut, 100, data, 4096));
        Assert.Equal((VirtioBlock.StatusOk, 1u), Request(bed, q, VirtioBlock.TypeFlush, 0, 0, 0));
        image.Dispose();
        owned.Remove(image);
        Assert.Equal(payload, File.ReadAllBytes(path).AsSpan(100 * 512, 4096).ToArray());
    }

    [Fact]
    public void Qcow2ImageIsWrittenThroughTheSameDevice()
    {
        string path = Path.Combine(folder, "disk.qcow2");
        var make = System.Diagnostics.Process.Start("qemu-img", ["create", "-q", "-f", "qcow2", path, "4M"])!;
        make.WaitForExit();
        Assert.Equal(0, make.ExitCode);
        var image = DiskImage.Open(path, DiskFormat.Qcow2, readOnly: false);
        var bed = Bed(image);
        var q = Start(bed);
        ulong data = bed.Ram.Alloc(8192);
        var payload = Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray();
        bed.Ram.Write(data, payload);
        Assert.Equal(VirtioBlock.StatusOk, Request(bed, q, VirtioBlock.TypeOut, 2000, data, 8192).Status);
        Assert.Equal(VirtioBlock.StatusOk, Request(bed, q, VirtioBlock.TypeFlush, 0, 0, 0).Status);
        ulong back = bed.Ram.Alloc(8192);
        Assert.Equal(VirtioBlock.StatusOk, Request(bed, q, VirtioBlock.TypeIn, 2000, back, 8192).Status);
        Assert.Equal(payload, bed.Ram.Read(back, 8192));
        image.Dispose();
        owned.Remove(image);
        string raw = Path.Combine(folder, "back.raw");
        var convert = System.Diagnostics.Process.Start("qemu-img", ["convert", "-O", "raw", path, raw])!;
        convert.WaitForExit();
        Assert.Equal(payload, File.ReadAllBytes(raw).AsSpan(2000 * 512, 8192).ToArray());
    }

    [Fact]
    public void ReadOnlyImageOffersRoAndFailsWritesWithoutTouchingTheFile()
    {
        string path = PatternFile();
        var before = File.ReadAllBytes(path);
        var bed = Bed(RawImage.Open(path, readOnly: true));
        Assert.NotEqual(0UL, bed.OfferedFeatures() & VirtioBlock.FeatureReadOnly);
        var q = Start(bed, Features | VirtioBlock.FeatureReadOnly);
        ulong data = bed.Ram.Alloc(512);
        bed.Ram.Write(data, new byte[512]);
        Assert.Equal(VirtioBlock.StatusIoError, Request(bed, q, VirtioBlock.TypeOut, 0, data, 512).Status);
        Assert.Equal(VirtioBlock.StatusOk, Request(bed, q, VirtioBlock.TypeIn, 0, data, 512).Status);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void GetIdAnswersTheSerialAndUnknownRequestsAreUnsupported()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false), serial: "jit-disk-0");
        var q = Start(bed);
        ulong id = bed.Ram.Alloc(20);
        var (status, written) = Request(bed, q, VirtioBlock.TypeGetId, 0, id, 20);
        Assert.Equal(VirtioBlock.StatusOk, status);
        Assert.Equal(21u, written);
        Assert.Equal("jit-disk-0\0\0\0\0\0\0\0\0\0\0"u8.ToArray(), bed.Ram.Read(id, 20));
        Assert.Equal(VirtioBlock.StatusUnsupported, Request(bed, q, 11, 0, 0, 0).Status); // discard: not offered
    }

    [Fact]
    public void RequestsBeyondTheDiskOrOfPartialSectorsFailWithIoError()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        var q = Start(bed);
        ulong data = bed.Ram.Alloc(1024);
        Assert.Equal(VirtioBlock.StatusIoError, Request(bed, q, VirtioBlock.TypeIn, 2047, data, 1024).Status);
        Assert.Equal(VirtioBlock.StatusIoError, Request(bed, q, VirtioBlock.TypeIn, ulong.MaxValue / 256, data, 512).Status);
        Assert.Equal(VirtioBlock.StatusIoError, Request(bed, q, VirtioBlock.TypeOut, 0, data, 100).Status);
        Assert.Equal(0, bed.Status & VirtioDeviceStatus.DeviceNeedsReset); // a failed request is not a broken device
    }

    [Fact]
    public void IndirectDescriptorsAndEventIndexWorkAsNegotiated()
    {
        string path = PatternFile();
        var bed = Bed(RawImage.Open(path, readOnly: false));
        var q = Start(bed, Features | VirtioFeatures.RingIndirectDescriptors | VirtioFeatures.RingEventIndex);
        ulong data = bed.Ram.Alloc(512);

        q.SetUsedEvent(0); // interrupt when the used index passes 0
        Assert.Equal(VirtioBlock.StatusOk, Request(bed, q, VirtioBlock.TypeIn, 5, data, 512, indirect: true).Status);
        Assert.Equal(Expected(5 * 512, 512), bed.Ram.Read(data, 512));
        Assert.Equal(1, bed.Msi.Count(0x101));
        Assert.Equal(1, q.AvailEvent); // the device asks to hear of the next buffer

        q.SetUsedEvent(5); // not before the sixth completion
        Request(bed, q, VirtioBlock.TypeIn, 5, data, 512, indirect: true);
        Assert.Equal(1, bed.Msi.Count(0x101));
        Assert.Equal(2, q.AvailEvent);
    }

    [Fact]
    public void NoInterruptFlagSuppressesTheQueueInterrupt()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        var q = Start(bed);
        q.SetNoInterrupt(true);
        Request(bed, q, VirtioBlock.TypeFlush, 0, 0, 0);
        Assert.Empty(bed.Msi.Messages);
        q.SetNoInterrupt(false);
        Request(bed, q, VirtioBlock.TypeFlush, 0, 0, 0);
        Assert.Single(bed.Msi.Messages);
    }

    [Fact]
    public void WithoutMsixTheQueueInterruptIsIntxAndTheIsrReadClearsIt()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        Assert.True(bed.Negotiate(Features));
        var q = bed.SetupQueue(0);
        bed.DriverOk();
        Request(bed, q, VirtioBlock.TypeFlush, 0, 0, 0);
        Assert.Empty(bed.Msi.Messages);
        Assert.True(bed.Line.Level);
        Assert.Equal(1, bed.ReadIsr());
        Assert.False(bed.Line.Level);
        Assert.Equal(0, bed.ReadIsr());
    }

    [Fact]
    public void FeaturesWithoutVersion1OrBeyondTheOfferAreRefused()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        Assert.False(bed.Negotiate(VirtioBlock.FeatureFlush));                        // a legacy driver
        Assert.False(bed.Negotiate(VirtioFeatures.Version1 | 1UL << 40));              // not offered
        Assert.True(bed.Negotiate(VirtioFeatures.Version1));
        // Once FEATURES_OK is set, the features are fixed.
        bed.W(bed.Common + 0x08, 4, 0);
        bed.W(bed.Common + 0x0C, 4, (uint)VirtioBlock.FeatureFlush);
        Assert.Equal(0UL, bed.R(bed.Common + 0x0C, 4));
    }

    [Fact]
    public void UnmappableVectorsReadBackAsNoVectorAndResetClearsQueues()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        var q = Start(bed);
        Assert.Equal(1, bed.QueueVector(0));
        bed.ConfigVector = 7;                                   // the table has 2 vectors
        Assert.Equal(VirtioTestBed.NoVector, bed.ConfigVector);
        bed.W(bed.Common + 0x1A, 2, 300);
        Assert.Equal(VirtioTestBed.NoVector, bed.QueueVector(0));

        bed.SetStatus(0);
        Assert.Equal(0, bed.Status);
        bed.W(bed.Common + 0x16, 2, 0);
        Assert.Equal(0UL, bed.R(bed.Common + 0x1C, 2));         // queue disabled
        Assert.Equal(256UL, bed.R(bed.Common + 0x18, 2));       // size back to the maximum
        Assert.Equal(0UL, bed.R(bed.Common + 0x20, 8));
        bed.W(bed.Common + 0x16, 2, 5);
        Assert.Equal(0UL, bed.R(bed.Common + 0x18, 2));         // no such queue
    }

    [Fact]
    public void PciConfigurationAccessCapabilityReachesTheBars()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        int cap = bed.PciCfgCap;
        bed.Config.Write8(cap + 4, 2);                          // BAR 2
        bed.Config.Write32(cap + 8, 0x12);                      // num_queues
        bed.Config.Write32(cap + 12, 2);
        Assert.Equal(1u, bed.Config.Read32(cap + 16) & 0xFFFF);
        bed.Config.Write32(cap + 8, 0x14);                      // device_status
        bed.Config.Write32(cap + 12, 1);
        bed.Config.Write32(cap + 16, VirtioDeviceStatus.Acknowledge);
        Assert.Equal(VirtioDeviceStatus.Acknowledge, bed.Status);
    }

    [Fact]
    public void NotifyBeforeBusMasteringDoesNothingUntilEnabled()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        var q = Start(bed);
        bed.Config.Write16(Jit.Devices.Pci.PciFunction.CommandRegister, Jit.Devices.Pci.PciFunction.CommandMemorySpace);
        ulong header = bed.Ram.Alloc(16, 16), status = bed.Ram.Alloc(1, 1);
        bed.Ram.W32(header, VirtioBlock.TypeFlush);
        q.Post(new Buffer(header, 16, false), new Buffer(status, 1, true));
        q.Kick();
        Assert.False(q.TryTakeUsed(out _, out _));
        bed.Config.Write16(Jit.Devices.Pci.PciFunction.CommandRegister,
            Jit.Devices.Pci.PciFunction.CommandMemorySpace | Jit.Devices.Pci.PciFunction.CommandBusMaster);
        q.Kick();
        q.TakeUsed();
    }

    /// <summary>The notify path (window routing, queue walk, image read, used ring, MSI-X) allocates nothing per request.</summary>
    [Fact]
    public void ServingARequestAllocatesNothing()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        var q = Start(bed, Features | VirtioFeatures.RingEventIndex);
        ulong header = bed.Ram.Alloc(16, 16), data = bed.Ram.Alloc(4096), status = bed.Ram.Alloc(1, 1);
        bed.Ram.W32(header, VirtioBlock.TypeIn);
        // Past the runtime's tier-up (30 calls) first. Then four windows of 50 requests: an allocation per request
        // shows in every window; a one-off of the runtime's own (a method promoted meanwhile) in one at most.
        var windows = new long[4];
        for (int i = 0; i < 300; i++)
        {
            bed.Ram.W64(header + 8, (ulong)(i % 200) * 8);
            q.Post(new Buffer(header, 16, false), new Buffer(data, 4096, true), new Buffer(status, 1, true));
            q.SetUsedEvent(q.UsedIndex);
            long before = GC.GetAllocatedBytesForCurrentThread();
            q.Kick();
            if (i >= 100) windows[(i - 100) / 50] += GC.GetAllocatedBytesForCurrentThread() - before;
            q.TakeUsed();
        }
        Assert.True(windows.Min() == 0, $"bytes allocated per 50 requests: {string.Join(", ", windows)}");
        Assert.Equal(300, bed.Msi.Count(0x101));
    }

    [Fact]
    public void FunctionResetAlsoResetsTheVirtioDevice()
    {
        var bed = Bed(RawImage.Open(PatternFile(), readOnly: false));
        Start(bed);
        Assert.NotEqual(0, bed.Status);
        bed.Function.Reset();
        Assert.Equal(0, bed.Function.Status);
        Assert.Equal(0, bed.Config.Read16(Jit.Devices.Pci.PciFunction.CommandRegister));
        bed.Probe();
        var q = Start(bed);
        Assert.Equal(VirtioBlock.StatusOk, Request(bed, q, VirtioBlock.TypeFlush, 0, 0, 0).Status);
    }
}
