using Jit.Devices.Virtio;

namespace Jit.Devices.Tests.Virtio;

public sealed class VirtioEntropyTests
{
    private static (VirtioTestBed Bed, DriverQueue Queue) Start(IEntropySource source)
    {
        var bed = new VirtioTestBed(() => new VirtioEntropy(source));
        bed.Probe();
        return (bed, bed.Start(VirtioFeatures.Version1, queues: 1)[0]);
    }

    private static byte[] Request(VirtioTestBed bed, DriverQueue q, uint length)
    {
        ulong buffer = bed.Ram.Alloc(length);
        q.Post(new Buffer(buffer, length, true));
        q.Kick();
        var (_, written) = q.TakeUsed();
        return bed.Ram.Read(buffer, (int)written);
    }

    [Fact]
    public void IdentifiesAsAnEntropyDevice()
    {
        var (bed, _) = Start(new SeededEntropy(1));
        using (bed)
        {
            Assert.Equal(0x1044, bed.Config.Read16(2));
            Assert.Equal(VirtioFeatures.Version1 | VirtioFeatures.RingEventIndex | VirtioFeatures.RingIndirectDescriptors, bed.OfferedFeatures());
        }
    }

    [Fact]
    public void SameSeedGivesTheSameBytesAndADifferentSeedDoesNot()
    {
        var (a, qa) = Start(new SeededEntropy(42));
        var (b, qb) = Start(new SeededEntropy(42));
        var (c, qc) = Start(new SeededEntropy(43));
        using (a) using (b) using (c)
        {
            var first = Request(a, qa, 100).Concat(Request(a, qa, 28)).ToArray();
            var second = Request(b, qb, 128);
            Assert.Equal(128, first.Length);
            Assert.Equal(first, second);
            Assert.NotEqual(first, Request(c, qc, 128));
            Assert.True(first.Distinct().Count() > 64); // not a constant or a short cycle
            Assert.Equal(2, a.Msi.Count(0x101));
        }
    }

    [Fact]
    public void LargeRequestsAreFilledUpTo64KiB()
    {
        var (bed, q) = Start(new HostEntropy());
        using (bed)
        {
            var bytes = Request(bed, q, 200_000);
            Assert.Equal(64 * 1024, bytes.Length);
            Assert.True(bytes.Count(b => b == 0) < 1024);
        }
    }
}
