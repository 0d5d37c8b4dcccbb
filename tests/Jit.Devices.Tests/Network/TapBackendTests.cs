using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using Jit.Devices.Network;
using static Jit.Devices.Tests.Network.Ethernet;

namespace Jit.Devices.Tests.Network;

/// <summary>A test that needs a TAP interface of its own (root and /dev/net/tun), and iproute2's ip if <paramref name="needsIp"/>.</summary>
public sealed class TapFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> unavailable = new(() =>
    {
        try
        {
            using var probe = new TapBackend(TapBackendTests.UniqueName());
            return null;
        }
        catch (NetworkBackendException e)
        {
            return $"no TAP interface can be made here: {e.Message}";
        }
    });

    private static readonly Lazy<string?> noIp = new(() => TapBackendTests.Ip("-V").ExitCode == 0 ? null : "iproute2's ip is not installed");

    public TapFactAttribute(bool needsIp = false)
    {
        if ((unavailable.Value ?? (needsIp ? noIp.Value : null)) is { } why) Skip = why;
    }
}

public sealed class TapBackendTests
{
    public static string UniqueName() => $"jittest{Random.Shared.Next(0x100_0000):x6}";

    public static (int ExitCode, string Output) Ip(params string[] args)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(start)!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    private static void MustIp(params string[] args)
    {
        var (rc, output) = Ip(args);
        Assert.True(rc == 0, $"ip {string.Join(' ', args)}: {output}");
    }

    [TapFact]
    public void TheInterfaceGetsTheNameAskedForAndGoesAwayWithTheBackend()
    {
        string name = UniqueName();
        string sysfs = $"/sys/class/net/{name}";
        using (var tap = new TapBackend(name))
        {
            Assert.Equal(name, tap.Name);
            Assert.True(Directory.Exists(sysfs));
            Assert.Equal("0x1002", File.ReadAllText($"{sysfs}/tun_flags").Trim());   // IFF_TAP | IFF_NO_PI
        }
        Assert.False(Directory.Exists(sysfs));
    }

    [TapFact]
    public void TheKernelNamesTheInterfaceWhenAskedTo()
    {
        using var tap = new TapBackend("jittest%d");
        Assert.Matches(@"^jittest\d+$", tap.Name);
        Assert.True(Directory.Exists($"/sys/class/net/{tap.Name}"));
    }

    [TapFact]
    public void AnInterfaceThatIsNotATapIsAClearError()
    {
        var e = Assert.Throws<NetworkBackendException>(() => new TapBackend("lo"));
        Assert.Equal("tap lo: TUNSETIFF: Invalid argument (errno 22)", e.Message);
    }

    [Fact]
    public void NoTunDeviceIsAClearError()
    {
        var e = Assert.Throws<NetworkBackendException>(() => new TapBackend("jittest0", "/nonexistent/tun"));
        Assert.Equal("tap jittest0: cannot open /nonexistent/tun: No such file or directory (errno 2)", e.Message);
    }

    [Fact]
    public void ANameTooLongIsRefusedBeforeAskingTheHost()
    {
        var e = Assert.Throws<NetworkBackendException>(() => new TapBackend("a-name-too-long-x"));
        Assert.Contains("at most 15 bytes", e.Message);
    }

    /// <summary>
    /// The host's kernel answers the guest's ARP request for the address the interface has: a frame crosses in each
    /// direction.
    /// </summary>
    [TapFact(needsIp: true)]
    public void TheHostAnswersTheGuestsArpRequest() => ArpExchange(virtioHeaders: false);

    /// <summary>The same with virtio headers: the request goes out behind an empty header, the reply comes with one.</summary>
    [TapFact(needsIp: true)]
    public void TheHostAnswersTheGuestsArpRequestWithVirtioHeaders() => ArpExchange(virtioHeaders: true);

    private static void ArpExchange(bool virtioHeaders)
    {
        var frames = new BlockingCollection<byte[]>();
        using var tap = new TapBackend(UniqueName(), virtioHeaders);
        int header = virtioHeaders ? Jit.Devices.Virtio.VirtioNet.HeaderSize : 0;
        tap.Connect(frame =>
        {
            // An ARP reply is neither segmented nor waiting for a checksum.
            if (virtioHeaders && (frame[0] != 0 && frame[0] != Jit.Devices.Virtio.VirtioNet.HeaderDataValid || frame[1] != 0)) return false;
            frames.Add(frame[header..].ToArray());
            return true;
        });
        byte[] hostIp = [10, 213, (byte)Random.Shared.Next(256), 1], guestIp = [.. hostIp[..3], 2];
        MustIp("addr", "add", $"{hostIp[0]}.{hostIp[1]}.{hostIp[2]}.{hostIp[3]}/24", "dev", tap.Name);
        MustIp("link", "set", tap.Name, "up");

        byte[] guestMac = Mac(0x4A17);
        var request = Frame(Broadcast, guestMac, etherType: 0x0806);
        var arp = request.AsSpan(14);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);          // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], 0x0800); // IPv4
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 1);      // request
        guestMac.CopyTo(arp[8..]);
        guestIp.CopyTo(arp[14..]);
        arp[18..24].Clear();
        hostIp.CopyTo(arp[24..]);

        byte[]? reply = null;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (reply is null && DateTime.UtcNow < deadline)
        {
            tap.Transmit(request);
            var until = DateTime.UtcNow.AddMilliseconds(500);
            while (reply is null && frames.TryTake(out var f, until - DateTime.UtcNow > TimeSpan.Zero ? until - DateTime.UtcNow : TimeSpan.Zero))
                if (IsReplyTo(f, guestMac, guestIp, hostIp)) reply = f;
        }
        Assert.NotNull(reply);
        Assert.Equal(guestMac, reply[..6]);
        var counters = tap.Counters;
        Assert.True(counters.TransmittedFrames >= 1 && counters.TransmitDropped == 0);
        Assert.True(counters.ReceivedFrames >= 1);
    }

    private static bool IsReplyTo(byte[] f, byte[] guestMac, byte[] guestIp, byte[] hostIp) =>
        f.Length >= 42 && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)) == 0x0806
        && BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(20)) == 2
        && f.AsSpan(28, 4).SequenceEqual(hostIp) && f.AsSpan(32, 6).SequenceEqual(guestMac) && f.AsSpan(38, 4).SequenceEqual(guestIp);

    [TapFact]
    public void DisposeStopsTheReaderAtOnce()
    {
        var tap = new TapBackend(UniqueName());
        tap.Connect(_ => true);
        var clock = Stopwatch.StartNew();
        tap.Dispose();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2));
        tap.Transmit(Frame(Broadcast, Mac(1)));
        Assert.Equal(1, tap.Counters.TransmitDropped);
        tap.Dispose();
    }
}
