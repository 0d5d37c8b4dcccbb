using Jit.Hypervisor.Toolstack;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>
/// <c>jit xl VERB …</c>: the toolstack's client. It sends the verb to the running hypervisor over its control
/// socket and prints the answer; <c>create</c> starts a hypervisor first if none runs (and says so), and
/// <c>console</c> (or <c>create -c</c>) attaches this terminal to a domain's console until Ctrl-] detaches.
/// </summary>
internal static class XlCommand
{
    private const byte CtrlCloseBracket = 0x1D;

    public static int Execute(string[] args, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            System.Console.Out.WriteLine($"usage: {XlVerbs.Usage}");
            return args.Length == 0 ? CommandLine.ExitCodes.BadInput : CommandLine.ExitCodes.Ok;
        }
        var state = StateFolder.Default();
        if (args[0] == "console")
        {
            if (args.Length != 2) throw new UsageError("xl console DOMAIN");
            return Attach(state, args[1], stderr);
        }
        var answer = ControlClient.Request(state, args);
        if (answer is null && args[0] == "create")
        {
            if (HypervisorCommand.Start(state, null, stderr) is not int pid) return CommandLine.ExitCodes.Failure;
            stderr.WriteLine($"xl: no hypervisor was running; started one (pid {pid}, state folder {state.Path})");
            answer = ControlClient.Request(state, args);
        }
        if (answer is null)
        {
            stderr.WriteLine($"xl: no hypervisor is running (no answer on {state.Socket}); start one with 'jit hypervisor start'");
            return CommandLine.ExitCodes.Failure;
        }
        System.Console.Out.Write(answer.Stdout);
        stderr.Write(answer.Stderr);
        if (answer.Exit == 0 && args[0] == "create" && args.Contains("-c"))
            return Attach(state, answer.Stdout.Trim(), stderr);
        return answer.Exit;
    }

    /// <summary>Copies the console to stdout and stdin to the console until Ctrl-] (or the end of stdin, or the domain's end).</summary>
    private static int Attach(StateFolder state, string domain, TextWriter stderr)
    {
        using var s = ControlClient.Connect(state);
        if (s is null)
        {
            stderr.WriteLine($"xl: no hypervisor is running (no answer on {state.Socket})");
            return CommandLine.ExitCodes.Failure;
        }
        ControlClient.Send(s, ["console", domain]);
        string? line = ControlServer.ReadLine(s);
        if (line is null || !line.Contains("\"attach\""))
        {
            if (line is not null)
            {
                using var doc = System.Text.Json.JsonDocument.Parse(line);
                stderr.Write(doc.RootElement.GetProperty("stderr").GetString());
            }
            return CommandLine.ExitCodes.Failure;
        }
        using var raw = new Jit.Hypervisor.ConsoleBackend.RawTerminal();
        try
        {
            var output = new Thread(() =>
            {
                using var stdout = System.Console.OpenStandardOutput();
                var buffer = new byte[4096];
                try
                {
                    int n;
                    while ((n = s.Read(buffer)) > 0)
                    {
                        stdout.Write(buffer, 0, n);
                        stdout.Flush();
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException) { }
            }) { IsBackground = true, Name = "console output" };
            output.Start();
            // The descriptor itself: .NET's console stream edits lines on a terminal and would hold Ctrl-] back.
            using var stdin = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read, 1);
            var input = new byte[256];
            while (true)
            {
                int n = stdin.Read(input);
                if (n <= 0) break;
                int detach = Array.IndexOf(input, CtrlCloseBracket, 0, n);
                if (detach >= 0)
                {
                    s.Write(input, 0, detach);
                    break;
                }
                s.Write(input, 0, n);
                s.Flush();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        return CommandLine.ExitCodes.Ok;
    }
}
