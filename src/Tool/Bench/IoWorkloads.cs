using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Jit.Tool.Bench;

/// <summary>
/// The device workloads of the bench initramfs built with the virtio-pci block and network modules: Debian's
/// kernel on 512 MiB, one vCPU, with an SMMUv3 in front of the PCIe bridge on both machines (Jit's default; QEMU's
/// <c>iommu=smmuv3</c> with the devices' <c>iommu_platform</c>), so both guests map every DMA buffer alike.
/// </summary>
public abstract class DeviceWorkload : InGuestWorkload
{
    protected DeviceWorkload() : base(smp: 1) { }

    /// <summary>Jit's options that give the guest the device.</summary>
    protected abstract string[] JitDevice { get; }

    /// <summary>QEMU's options that give the guest the same device.</summary>
    protected abstract string[] QemuDevice { get; }

    public override (string File, string[] Args) Command(BenchMachine machine, BenchTools t)
    {
        string append = $"console=ttyAMA0 panic=-1 benchrun={Name} {SizeArguments}".TrimEnd();
        return machine == BenchMachine.Jit
            ? (t.Jit, ["run", "--kernel", t.Kernel!, "--initrd", t.IoBenchInitrd!, "--append", append, "--mem", "512M", "--timeout", "1800", .. JitDevice])
            : (t.Qemu!, [.. QemuVirt("512", 1, "virt,gic-version=3,iommu=smmuv3"), "-kernel", t.Kernel!, "-initrd", t.IoBenchInitrd!, "-append", append, .. QemuDevice]);
    }
}

/// <summary>
/// Sequential direct I/O on a virtio-blk disk: the guest writes N MiB of zeros to /dev/vda and reads them back
/// with dd's <c>oflag=direct</c>/<c>iflag=direct</c>, 1 MiB per request, timing each pass. A figure counts only
/// when dd reports every MiB moved. Each run gets a fresh sparse raw image, so no run reads what the host's page
/// cache kept from the one before on one machine and not the other.
/// </summary>
public sealed class DiskWorkload(int megabytes) : DeviceWorkload, IDisposable
{
    public const int DefaultMegabytes = 1024;

    private readonly string image = Path.Combine(Path.GetTempPath(), $"jit-bench-disk-{Environment.ProcessId}.raw");
    private readonly Metric write = new("disk", $"virtio-blk direct write of {megabytes} MiB", "s");
    private readonly Metric read = new("disk", $"virtio-blk direct read of {megabytes} MiB", "s");

    public override string Name => "disk";
    public override IEnumerable<Metric> Metrics => [write, read];
    protected override string SizeArguments => $"benchdiskmb={megabytes}";
    protected override string[] JitDevice => ["--disk", image];
    protected override string[] QemuDevice =>
        ["-drive", $"if=none,file={image},format=raw,id=d", "-device", "virtio-blk-pci,drive=d,disable-legacy=on,iommu_platform=on"];

    public override void Prepare(BenchMachine machine, BenchTools tools)
    {
        File.Delete(image);
        using var f = new FileStream(image, FileMode.CreateNew);
        f.SetLength(((long)megabytes + 1) << 20);
    }

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        var l = LineOf(output, Name);
        bool right = l is not null && l.Integer("mb") == megabytes && l.Integer("written") == megabytes && l.Integer("readback") == megabytes;
        return [(write, right ? l!.Number("write") : null), (read, right ? l!.Number("read") : null)];
    }

    public void Dispose() => File.Delete(image);
}

/// <summary>
/// TCP between the guest and the host through a host TAP interface (virtio-net): the guest sends N MiB to the
/// host's sink with guests/net/tcp-stream (256 KiB writes; busybox nc's small ones would measure system calls),
/// then receives N MiB from the host's source, timing each; the guest's counts of the bytes it sent and received
/// and the sink's count of what it got must all be N MiB. The TAP is made persistent once,
/// addressed here as the host's end, and both machines attach to it by name, so they see the same host path.
/// Needs CAP_NET_ADMIN (root) and iproute2, as the TAP tests do.
/// </summary>
public sealed class TcpWorkload : DeviceWorkload, IDisposable
{
    public const int DefaultMegabytes = 256;
    public const int SinkPort = 5201, SourcePort = 5202;
    /// <summary>The host's end; the guest takes the next address.</summary>
    public static readonly IPAddress HostAddress = IPAddress.Parse("10.77.213.1");

    private readonly int megabytes;
    private readonly string tap;
    private readonly Metric send, receive;
    private HostTcpPeer? peer;

    private TcpWorkload(int megabytes, string tap)
    {
        this.megabytes = megabytes;
        this.tap = tap;
        send = new("tcp", $"send {megabytes} MiB to the host over a TAP", "s");
        receive = new("tcp", $"receive {megabytes} MiB from the host over a TAP", "s");
    }

    /// <summary>The workload with its TAP made and addressed, or null and why the host will not.</summary>
    public static TcpWorkload? Create(int megabytes, out string? why)
    {
        string tap = $"jitbench{Environment.ProcessId % 10_000_000}";
        // Another interface on the subnet (a bench that was killed, a TAP of one's own) would take the replies.
        if (IpOutput("-o", "addr", "show", "to", $"{HostAddress}/24") is { Length: > 0 } taken)
        {
            why = $"another interface already holds {HostAddress}/24: {taken.Trim()}";
            return null;
        }
        why = Ip("tuntap", "add", "dev", tap, "mode", "tap")
              ?? Ip("addr", "add", $"{HostAddress}/24", "dev", tap)
              ?? Ip("link", "set", tap, "up");
        if (why is null) return new TcpWorkload(megabytes, tap);
        Ip("link", "delete", tap);
        return null;
    }

    public override string Name => "tcp";
    public override IEnumerable<Metric> Metrics => [send, receive];
    protected override string SizeArguments => $"benchtcpmb={megabytes} benchhost={HostAddress}";
    protected override string[] JitDevice => ["--nic", $"tap,ifname={tap}"];
    protected override string[] QemuDevice =>
        ["-netdev", $"tap,id=n0,ifname={tap},script=no,downscript=no", "-device", "virtio-net-pci,netdev=n0,romfile=,disable-legacy=on,iommu_platform=on"];

    public override void Prepare(BenchMachine machine, BenchTools tools)
    {
        peer?.Dispose();
        peer = new HostTcpPeer(HostAddress, (long)megabytes << 20);
    }

    public override IEnumerable<(Metric Metric, double? Value)> Parse(IReadOnlyList<(double Seconds, string Line)> output)
    {
        long bytes = (long)megabytes << 20;
        var l = LineOf(output, Name);
        bool right = l is not null && l.Integer("mb") == megabytes && l.Integer("sent") == bytes && l.Integer("received") == bytes && peer?.SinkBytes == bytes;
        return [(send, right ? l!.Number("send") : null), (receive, right ? l!.Number("receive") : null)];
    }

    public void Dispose()
    {
        peer?.Dispose();
        Ip("link", "delete", tap);
    }

    /// <summary>Runs iproute2's ip; null when it succeeded, else what it said.</summary>
    private static string? Ip(params string[] args) => RunIp(args).Error;

    /// <summary>What ip printed, or null when it failed.</summary>
    private static string? IpOutput(params string[] args) => RunIp(args) is { Error: null } r ? r.Output : null;

    private static (string Output, string? Error) RunIp(string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (output, p.ExitCode == 0 ? null : $"ip {string.Join(' ', args)}: {err.Result.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return ("", $"ip (iproute2, which scripts/setup.sh installs) does not run: {e.Message}");
        }
    }
}

/// <summary>
/// The host's end of the tcp workload, for one run: a sink that takes one connection and reads until it has
/// the run's bytes or the peer closes, and a source that takes one connection, writes the run's bytes and
/// closes. Disposing it closes the listeners, which ends an accept that never came.
/// </summary>
public sealed class HostTcpPeer : IDisposable
{
    private readonly TcpListener sink, source;
    private readonly Task sinking, sourcing;
    private long sinkBytes;

    public HostTcpPeer(IPAddress address, long bytes)
    {
        sink = Listen(address, TcpWorkload.SinkPort);
        source = Listen(address, TcpWorkload.SourcePort);
        sinking = Task.Run(() => Serve(sink, s =>
        {
            var buffer = new byte[1 << 16];
            int n;
            while (Interlocked.Read(ref sinkBytes) < bytes && (n = s.Read(buffer)) > 0) Interlocked.Add(ref sinkBytes, n);
        }));
        sourcing = Task.Run(() => Serve(source, s =>
        {
            var buffer = new byte[1 << 16];
            for (long left = bytes; left > 0; left -= buffer.Length) s.Write(buffer, 0, (int)Math.Min(left, buffer.Length));
        }));
    }

    /// <summary>What the sink has read so far.</summary>
    public long SinkBytes => Interlocked.Read(ref sinkBytes);

    private static TcpListener Listen(IPAddress address, int port)
    {
        var l = new TcpListener(address, port);
        l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        l.Start(1);
        return l;
    }

    private static void Serve(TcpListener listener, Action<NetworkStream> work)
    {
        try
        {
            using var client = listener.AcceptTcpClient();
            using var stream = client.GetStream();
            work(stream);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The guest went away or never came: the run's figures show it (the counts will not match).
        }
    }

    public void Dispose()
    {
        sink.Stop();
        source.Stop();
        Task.WaitAll([sinking, sourcing], TimeSpan.FromSeconds(10));
    }
}
