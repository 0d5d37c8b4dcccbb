using System.Net.Sockets;
using System.Text.Json;

namespace Jit.Hypervisor.Toolstack;

/// <summary>The toolstack's end of the control socket (see <see cref="ControlServer"/>).</summary>
public static class ControlClient
{
    public sealed record Answer(int Exit, string Stdout, string Stderr);

    /// <summary>A connection to the hypervisor of <paramref name="state"/>, or null when none runs there.</summary>
    public static NetworkStream? Connect(StateFolder state)
    {
        if (!File.Exists(state.Socket)) return null;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(state.Socket));
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    public static void Send(Stream s, string[] argv) =>
        ControlServer.WriteLine(s, JsonSerializer.Serialize(new { argv, cwd = Environment.CurrentDirectory }));

    /// <summary>Sends one request and reads its answer; null when no hypervisor runs.</summary>
    public static Answer? Request(StateFolder state, string[] argv)
    {
        using var s = Connect(state);
        if (s is null) return null;
        Send(s, argv);
        return ReadAnswer(s);
    }

    public static Answer ReadAnswer(Stream s)
    {
        string line = ControlServer.ReadLine(s) ?? throw new IOException("the hypervisor closed the connection without an answer");
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        return new Answer(r.GetProperty("exit").GetInt32(), r.GetProperty("stdout").GetString() ?? "", r.GetProperty("stderr").GetString() ?? "");
    }
}
