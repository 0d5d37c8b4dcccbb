using System.Buffers.Binary;

namespace Jit.Hypervisor.Tests.Devices.Storage;

/// <summary>
/// A temporary folder for disk images, removed afterwards, and QEMU's image tools as the oracle: qemu-img makes,
/// checks and converts images, qemu-io writes into them (both from qemu-utils, which scripts/setup.sh installs).
/// </summary>
internal sealed class ImageScratch : IDisposable
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    public ImageScratch()
    {
        Folder = Directory.CreateTempSubdirectory("jit-disk-").FullName;
    }

    public string Folder { get; }

    public string PathOf(string name) => System.IO.Path.Combine(Folder, name);

    /// <summary>Runs qemu-img and fails the test when it fails; returns its standard output.</summary>
    public string QemuImg(params string[] args) => Tool("qemu-img", args);

    public string QemuIo(string image, params string[] commands)
    {
        var args = new List<string>();
        foreach (string c in commands) { args.Add("-c"); args.Add(c); }
        args.Add(image);
        return Tool("qemu-io", [.. args]);
    }

    /// <summary>qemu-img create -f qcow2 [-o OPTIONS] NAME SIZE; returns the path.</summary>
    public string CreateQcow2(string name, string size, string? options = null)
    {
        string path = PathOf(name);
        if (options is null) QemuImg("create", "-q", "-f", "qcow2", path, size);
        else QemuImg("create", "-q", "-f", "qcow2", "-o", options, path, size);
        return path;
    }

    /// <summary>The disk as qemu-img sees it: convert -O raw, read back.</summary>
    public byte[] QemuView(string image, string? snapshot = null)
    {
        string raw = PathOf($"view-{Guid.NewGuid():n}.raw");
        if (snapshot is null) QemuImg("convert", "-U", "-O", "raw", image, raw);
        else QemuImg("convert", "-U", "-l", $"snapshot.name={snapshot}", "-O", "raw", image, raw);
        byte[] bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }

    /// <summary>qemu-img check must find neither corruptions nor leaks.</summary>
    public void AssertCheckClean(string image)
    {
        var r = TestProcess.Run("qemu-img", ["check", "-U", image], ToolTimeout);
        Assert.True(r.ExitCode == 0 && r.Stdout.Contains("No errors were found"),
            $"qemu-img check {image} exit {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
    }

    private static string Tool(string tool, string[] args)
    {
        TestProcess.Result r;
        try
        {
            r = TestProcess.Run(tool, args, ToolTimeout);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Fail($"{tool} is not installed; scripts/setup.sh installs it (package qemu-utils)");
            throw;
        }
        Assert.True(r.ExitCode == 0, $"{tool} {string.Join(' ', args)} failed ({r.ExitCode}):\n{r.Stdout}{r.Stderr}");
        return r.Stdout;
    }

    // ---- hand-editing images -------------------------------------------------------------------------------------

    public static ulong ReadU64(string path, long offset)
    {
        using var f = File.OpenHandle(path);
        Span<byte> b = stackalloc byte[8];
        RandomAccess.Read(f, b, offset);
        return BinaryPrimitives.ReadUInt64BigEndian(b);
    }

    public static uint ReadU32(string path, long offset)
    {
        using var f = File.OpenHandle(path);
        Span<byte> b = stackalloc byte[4];
        RandomAccess.Read(f, b, offset);
        return BinaryPrimitives.ReadUInt32BigEndian(b);
    }

    public static void WriteU64(string path, long offset, ulong value)
    {
        using var f = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        RandomAccess.Write(f, b, offset);
    }

    public static void WriteU32(string path, long offset, uint value)
    {
        using var f = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        RandomAccess.Write(f, b, offset);
    }

    /// <summary>The file offset of the L2 entry of guest cluster <paramref name="guestCluster"/> (its L2 table must exist).</summary>
    public static long L2EntryOffset(string path, ulong guestCluster)
    {
        int clusterBits = (int)ReadU32(path, 20);
        int l2Bits = clusterBits - 3;
        ulong l1Offset = ReadU64(path, 40);
        ulong l1Entry = ReadU64(path, (long)(l1Offset + (guestCluster >> l2Bits) * 8));
        ulong l2Offset = l1Entry & 0x00FF_FFFF_FFFF_FE00;
        Assert.NotEqual(0UL, l2Offset);
        return (long)(l2Offset + (guestCluster & ((1UL << l2Bits) - 1)) * 8);
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { }
    }
}
