using Jit.Devices.Storage;

namespace Jit.Devices.Tests.Nvme;

/// <summary>A temporary folder of raw images, and test beds that are disposed with the test.</summary>
public abstract class NvmeTestBase : IDisposable
{
    public const int ImageBytes = 1 << 20;
    protected readonly string Folder = Directory.CreateTempSubdirectory("jit-nvme-").FullName;
    private readonly List<IDisposable> owned = [];

    public void Dispose()
    {
        foreach (var d in owned) d.Dispose();
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>A 1 MiB raw image whose byte i is (i / 512 + i) mod 251, so every block differs.</summary>
    protected string PatternFile(string name = "disk.img", int bytes = ImageBytes)
    {
        string path = Path.Combine(Folder, name);
        var data = new byte[bytes];
        for (int i = 0; i < data.Length; i++) data[i] = Pattern(i);
        File.WriteAllBytes(path, data);
        return path;
    }

    protected static byte Pattern(int i) => (byte)((i / 512 + i) % 251);

    protected static byte[] Expected(int offset, int length) => [.. Enumerable.Range(offset, length).Select(Pattern)];

    protected T Own<T>(T disposable) where T : IDisposable
    {
        owned.Add(disposable);
        return disposable;
    }

    protected RawImage Raw(bool readOnly = false, string name = "disk.img") => RawImage.Open(PatternFile(name), readOnly);

    protected NvmeTestBed Bed(IBlockImage image, string serial = "JIT-TEST-0001", int ioQueues = 8)
    {
        Own(image);
        return Own(new NvmeTestBed(image, serial, ioQueues));
    }

    /// <summary>A bed on a writable pattern image, brought up as Linux does, with I/O queue pair 1.</summary>
    protected (NvmeTestBed Bed, QueuePair Io) Started(uint ioEntries = 64)
    {
        var bed = Bed(Raw());
        return (bed, bed.Start(ioEntries));
    }
}
