using System.Net.Sockets;
using System.Text;
using Jit.Hypervisor.Builder;
using Jit.Tool.Cli;
using Jit.Translator;
using Jit.Translator.Tier1.Inspection;

using Jit.Hypervisor;

namespace Jit.Tool.Inspection;

/// <summary>
/// Answers <c>jit disasm --pid</c> for the guest this process runs: listens on <see cref="InspectionEndpoint"/>
/// on a thread of its own that costs nothing until a client connects, and serves one request at a time.
/// </summary>
/// <remarks>
/// A request samples the vCPUs for its window (<see cref="LiveSample"/>), then compiles the chosen regions
/// again with their IL recorded and reads RyuJIT's code for them, on this thread, as <c>jit disasm</c> does
/// after a run. The socket is readable by its owner only: a listing shows guest memory.
/// </remarks>
internal sealed class InspectionServer : IDisposable
{
    private readonly Machine machine;
    private readonly string guest, path;
    private readonly Socket listener;
    private readonly Thread thread;
    private volatile bool disposed;
    // Cancelled when the run ends, so a request in its window gives up instead of holding up the exit.
    private readonly CancellationTokenSource stopping = new();

    private InspectionServer(Machine machine, string guest, string path, Socket listener)
    {
        this.machine = machine;
        this.guest = guest;
        this.path = path;
        this.listener = listener;
        thread = new Thread(Serve) { IsBackground = true, Name = "jit inspection server" };
        thread.Start();
    }

    /// <summary>Null, after one line on <paramref name="stderr"/>, when the socket cannot be made: the guest runs anyway.</summary>
    public static InspectionServer? Start(Machine machine, string guest, TextWriter stderr)
    {
        string path = InspectionEndpoint.PathFor(Environment.ProcessId);
        Socket? socket = null;
        try
        {
            // A file of that name is left from an earlier process with this id that was killed.
            File.Delete(path);
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            socket.Listen(4);
            return new InspectionServer(machine, guest, path, socket);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            socket?.Dispose();
            stderr.WriteLine($"jit: no live inspection (jit disasm --pid): cannot listen on {path}: {e.Message}");
            return null;
        }
    }

    private void Serve()
    {
        while (!disposed)
        {
            Socket client;
            try
            {
                client = listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            try
            {
                using var stream = new NetworkStream(client, ownsSocket: true);
                client.ReceiveTimeout = 5000;
                client.SendTimeout = 30_000;
                using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
                using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
                var request = DisasmRequest.Parse(reader.ReadLine());
                writer.Write(request is null ? $"{InspectionEndpoint.ErrorPrefix}not a request this jit understands\n" : Answer(request));
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The client went away: the next one is served as usual.
            }
        }
    }

    private string Answer(DisasmRequest request)
    {
        var jit = machine.Domain.JitOptions;
        if (jit.Tier1 == Tier1Mode.Off) return $"{InspectionEndpoint.ErrorPrefix}this jit runs with tier1=off: there is no compiled code to show\n";
        LiveSample sample;
        try
        {
            sample = LiveSample.Take(machine.Domain, request.Window, stopping.Token);
        }
        catch (LiveSample.NotRunning e)
        {
            return InspectionEndpoint.ErrorPrefix + e.Message + "\n";
        }
        using var capture = new HostCodeCapture();
        var regions = DisasmCommand.Listing(machine.Domain.Memory, sample.Blocks, sample.Entries, jit, request.Hot, request.At, capture, out string? problem);
        if (regions is null) return $"{InspectionEndpoint.ErrorPrefix}{problem}\n";
        var text = new StringWriter { NewLine = "\n" };
        text.WriteLine(InspectionEndpoint.Ok);
        if (request.Json) DisasmReport.WriteJson(text, new DisasmReport.Run(guest, machine.Retired, jit.ToString()), regions);
        else DisasmReport.WriteText(text, regions);
        return text.ToString();
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        stopping.Cancel();
        listener.Dispose();
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        // A request past its window may still be compiling its listing from guest memory, which the machine
        // frees after this returns: wait for it.
        thread.Join();
        stopping.Dispose();
    }
}
