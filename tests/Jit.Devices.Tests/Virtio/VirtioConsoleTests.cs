using System.Text;
using Jit.Devices.Virtio;

namespace Jit.Devices.Tests.Virtio;

public sealed class VirtioConsoleTests : IDisposable
{
    private sealed class Capture : IConsoleOutput
    {
        public readonly List<byte> Bytes = [];
        public void Write(ReadOnlySpan<byte> data) => Bytes.AddRange(data.ToArray());
    }

    private readonly Capture output = new();
    private readonly VirtioConsole console;
    private readonly VirtioTestBed bed;

    public VirtioConsoleTests()
    {
        VirtioConsole? made = null;
        bed = new VirtioTestBed(() => made = new VirtioConsole(output));
        console = made!;
        bed.Probe();
    }

    public void Dispose() => bed.Dispose();

    private (DriverQueue Receive, DriverQueue Transmit) Start()
    {
        var q = bed.Start(VirtioFeatures.Version1, queues: 2);
        return (q[0], q[1]);
    }

    [Fact]
    public void GuestOutputReachesTheHost()
    {
        Assert.Equal(0x1043, bed.Config.Read16(2));
        var (_, tx) = Start();
        ulong a = bed.Ram.Alloc(64), b = bed.Ram.Alloc(64);
        bed.Ram.Write(a, "login: "u8);
        bed.Ram.Write(b, "root\n"u8);
        tx.Post(new Buffer(a, 7, false), new Buffer(b, 5, false));
        tx.Kick();
        Assert.Equal(0u, tx.TakeUsed().Length);
        Assert.Equal("login: root\n", Encoding.ASCII.GetString([.. output.Bytes]));
        Assert.Equal(1, bed.Msi.Count(0x102));
    }

    [Fact]
    public void HostInputFillsReceiveBuffersAsTheyArePosted()
    {
        console.Input("typed early"u8); // before the driver is even there
        var (rx, _) = Start();
        ulong buffer = bed.Ram.Alloc(8);
        rx.Post(new Buffer(buffer, 8, true));
        rx.Kick();
        Assert.Equal(8u, rx.TakeUsed().Length);
        Assert.Equal("typed ea"u8.ToArray(), bed.Ram.Read(buffer, 8));

        ulong second = bed.Ram.Alloc(64);
        rx.Post(new Buffer(second, 64, true));
        rx.Kick();
        Assert.Equal(3u, rx.TakeUsed().Length);
        Assert.Equal("rly"u8.ToArray(), bed.Ram.Read(second, 3));

        ulong third = bed.Ram.Alloc(64);
        rx.Post(new Buffer(third, 64, true));
        rx.Kick();
        Assert.False(rx.TryTakeUsed(out _, out _)); // nothing typed: the buffer waits
        console.Input("ls\n"u8);
        Assert.Equal(3u, rx.TakeUsed().Length);
        Assert.Equal("ls\n"u8.ToArray(), bed.Ram.Read(third, 3));
        Assert.Equal(3, bed.Msi.Count(0x101));
    }
}
