using System.Net;
using System.Net.Sockets;
using Jit.Tool.Bench;

namespace Jit.Hypervisor.Tests.Bench;

public sealed class HostTcpPeerTests
{
    [Fact]
    public void TheSinkTakesTheBytesAndTheSourceSendsThem()
    {
        const int Bytes = 3 << 20;
        using var peer = new HostTcpPeer(IPAddress.Loopback, Bytes);
        using (var send = new TcpClient())
        {
            send.Connect(IPAddress.Loopback, TcpWorkload.SinkPort);
            var s = send.GetStream();
            s.Write(new byte[Bytes]);
            send.Client.Shutdown(SocketShutdown.Send);
            // The sink closes once it has them all.
            Assert.Equal(0, s.Read(new byte[16]));
        }
        Assert.Equal(Bytes, peer.SinkBytes);
        using var receive = new TcpClient();
        receive.Connect(IPAddress.Loopback, TcpWorkload.SourcePort);
        var r = receive.GetStream();
        long got = 0;
        var buffer = new byte[1 << 16];
        int n;
        while ((n = r.Read(buffer)) > 0) got += n;
        Assert.Equal(Bytes, got);
    }
}
