using System.Globalization;
using System.Net.Sockets;
using System.Text;

using Jit.Hypervisor;

namespace Jit.Tool.Inspection;

/// <summary>
/// Where a running jit answers inspection requests (<c>jit disasm --pid</c>), and the one-line request it reads:
/// a Unix socket named after the process, like the runtime's own diagnostics socket.
/// </summary>
/// <remarks>
/// The exchange is a line from the client (<see cref="DisasmRequest.Format"/>), then from the server a status
/// line, <c>ok</c> or <c>error: why</c>, and after <c>ok</c> the listing exactly as <c>jit disasm</c> prints it.
/// </remarks>
public static class InspectionEndpoint
{
    public static string PathFor(int pid) => Path.Combine(Path.GetTempPath(), $"jit-{pid}-inspect");

    public const string Ok = "ok";
    public const string ErrorPrefix = "error: ";

    /// <summary>
    /// The client's side: sends <paramref name="request"/> to the jit at <paramref name="path"/> and returns its
    /// status line (null when it closed without one) and what followed. Throws IOException or SocketException
    /// when the process cannot be reached or goes silent for longer than <paramref name="patience"/>.
    /// </summary>
    public static (string? Status, string Body) Ask(string path, DisasmRequest request, TimeSpan patience)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(path));
        socket.ReceiveTimeout = (int)patience.TotalMilliseconds;
        using var stream = new NetworkStream(socket, ownsSocket: false);
        using (var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" })
            writer.WriteLine(request.Format());
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? status = reader.ReadLine();
        return (status, status is null ? "" : reader.ReadToEnd());
    }
}

/// <param name="Hot">The N compiled blocks entered most during the window; 0 with <paramref name="At"/>.</param>
/// <param name="At">The compiled block at, or holding, this guest virtual address.</param>
/// <param name="Window">How long to count block entries before choosing.</param>
public sealed record DisasmRequest(int Hot, ulong? At, TimeSpan Window, bool Json)
{
    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"disasm {(At is { } a ? $"at={a:x}" : $"hot={Hot}")} window={Window.TotalSeconds} json={(Json ? 1 : 0)}");

    /// <summary>Null when <paramref name="line"/> is not a request this version understands.</summary>
    public static DisasmRequest? Parse(string? line)
    {
        if (line is null) return null;
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words[0] != "disasm") return null;
        int hot = 0;
        ulong? at = null;
        double window = 1;
        bool json = false;
        foreach (var w in words.Skip(1))
        {
            int eq = w.IndexOf('=');
            if (eq < 0) return null;
            string key = w[..eq], value = w[(eq + 1)..];
            bool ok;
            switch (key)
            {
                case "hot":
                    ok = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out hot) && hot is > 0 and <= 10_000;
                    break;
                case "at":
                    ok = ulong.TryParse(value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong a);
                    at = a;
                    break;
                case "window":
                    ok = double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out window) && window is >= 0.01 and <= 60;
                    break;
                case "json":
                    ok = value is "0" or "1";
                    json = value == "1";
                    break;
                default:
                    ok = false;
                    break;
            }
            if (!ok) return null;
        }
        if ((hot > 0) == (at is not null)) return null;
        return new DisasmRequest(hot, at, TimeSpan.FromSeconds(window), json);
    }
}
