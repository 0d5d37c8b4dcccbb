using Jit.Devices.Storage;
using Jit.Devices.Virtio;

namespace Jit.Devices.Tests.Virtio;

[CollectionDefinition(nameof(StandardErrorCollection), DisableParallelization = true)]
public sealed class StandardErrorCollection;

/// <summary>Runs alone: it captures the process's standard error, where Jit.Runtime.Log writes.</summary>
[Collection(nameof(StandardErrorCollection))]
public sealed class VirtioLogTests
{
    [Fact]
    public void ABrokenQueueIsLoggedOnceHoweverOftenTheGuestRepeatsIt()
    {
        string path = Path.Combine(Path.GetTempPath(), $"jit-log-{Guid.NewGuid():n}.img");
        File.WriteAllBytes(path, new byte[1 << 16]);
        var captured = new StringWriter();
        var original = Console.Error;
        try
        {
            using var image = RawImage.Open(path, readOnly: false);
            using var bed = new VirtioTestBed(() => new VirtioBlock(image));
            bed.Probe();
            Console.SetError(captured);
            for (int round = 0; round < 100; round++)
            {
                Assert.True(bed.Negotiate(VirtioFeatures.Version1));
                var q = bed.SetupQueue(0, size: 16);
                bed.DriverOk();
                q.MakeAvailable(99);
                q.Kick();
                Assert.NotEqual(0, bed.Status & VirtioDeviceStatus.DeviceNeedsReset);
            }
        }
        finally
        {
            Console.SetError(original);
            File.Delete(path);
        }
        var lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string line = Assert.Single(lines);
        Assert.Contains("virtio-blk 00:01.0: queue 0:", line);
        Assert.Contains("device needs reset", line);
    }
}
