using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Jit.Hypervisor.Config;
using Jit.Runtime;

namespace Jit.Hypervisor.Toolstack;

/// <summary>
/// The hypervisor's control socket: a Unix socket in the state folder that only its owner can open (mode 0600
/// in a 0700 folder). A request is one JSON line, <c>{"argv": [...], "cwd": "..."}</c>; the answer one JSON
/// line, <c>{"exit": N, "stdout": "...", "stderr": "..."}</c>, except for <c>console DOMAIN</c>, answered
/// <c>{"attach": true}</c> after which the connection carries the console's bytes both ways until the client
/// closes it.
/// </summary>
public sealed class ControlServer : IDisposable
{
    private readonly Host host;
    private readonly StateFolder state;
    private readonly XlVerbs verbs;
    private readonly Socket listener;
    private readonly CancellationTokenSource stopping = new();

    public ControlServer(Host host, StateFolder state, HostLimits limits)
    {
        this.host = host;
        this.state = state;
        verbs = new XlVerbs(host, state, limits);
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the control socket needs a Unix host");
        File.Delete(state.Socket);
        listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(state.Socket));
        File.SetUnixFileMode(state.Socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        listener.Listen(16);
    }

    /// <summary>Set when a client asked the hypervisor to stop.</summary>
    public CancellationToken Stopping => stopping.Token;

    /// <summary>Accepts clients until <see cref="Dispose"/> or a stop request.</summary>
    public void Serve()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try { client = listener.Accept(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            new Thread(() => Handle(client)) { IsBackground = true, Name = "control client" }.Start();
        }
    }

    private void Handle(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            string? line = ReadLine(stream);
            if (line is null) return;
            using var request = JsonDocument.Parse(line);
            string[] argv = [.. request.RootElement.GetProperty("argv").EnumerateArray().Select(a => a.GetString() ?? "")];
            string cwd = request.RootElement.TryGetProperty("cwd", out var c) ? c.GetString() ?? "/" : "/";
            if (argv is ["console", var name])
            {
                if (host.Find(name) is not { } d)
                {
                    Reply(stream, 1, "", $"xl: domain '{name}' does not exist\n");
                    return;
                }
                WriteLine(stream, JsonSerializer.Serialize(new { attach = true }));
                if (!d.Console.Attach(stream)) Reply(stream, 1, "", $"xl console: {d.Name}: another console client is attached\n");
                return;
            }
            if (argv is ["stop"])
            {
                Reply(stream, 0, "", "");
                stopping.Cancel();
                listener.Dispose();
                return;
            }
            if (argv is ["status"])
            {
                Reply(stream, 0, $"running, pid {Environment.ProcessId}, {host.Domains.Count} domain(s), state folder {state.Path}\n", "");
                return;
            }
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int exit = verbs.Execute(argv, cwd, stdout, stderr);
            Reply(stream, exit, stdout.ToString(), stderr.ToString());
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or ObjectDisposedException)
        {
            Log.Warn($"control socket: a request failed: {e.Message}");
        }
    }

    private static void Reply(Stream s, int exit, string stdout, string stderr) =>
        WriteLine(s, JsonSerializer.Serialize(new { exit, stdout, stderr }));

    internal static void WriteLine(Stream s, string json)
    {
        s.Write(Encoding.UTF8.GetBytes(json + "\n"));
        s.Flush();
    }

    /// <summary>One line, read a byte at a time so nothing after it (console input) is consumed.</summary>
    internal static string? ReadLine(Stream s)
    {
        var bytes = new List<byte>();
        while (true)
        {
            int b = s.ReadByte();
            if (b < 0) return bytes.Count == 0 ? null : Encoding.UTF8.GetString([.. bytes]);
            if (b == '\n') return Encoding.UTF8.GetString([.. bytes]);
            if (bytes.Count > 1 << 20) throw new InvalidOperationException("request line too long");
            bytes.Add((byte)b);
        }
    }

    public void Dispose()
    {
        stopping.Cancel();
        listener.Dispose();
        File.Delete(state.Socket);
    }
}
