using System.Diagnostics;
using Jit.Devices.Uart;

namespace Jit.Hypervisor.ConsoleBackend;

/// <summary>
/// The console backend's input side: bytes from the emulator's stdin go to the guest's PL011. On a terminal
/// it switches the terminal to raw mode (restored on dispose) and, as QEMU does, takes Ctrl-A X to quit and
/// Ctrl-A Ctrl-A to send a literal Ctrl-A. Input waits while the UART's receive FIFO is full, and until the
/// guest has enabled its receive interrupt, so early input is not lost to a driver resetting its FIFO.
/// </summary>
public sealed class ConsoleInput : IDisposable
{
    private const byte CtrlA = 0x01;
    private readonly Pl011 uart;
    private readonly Action quit;
    private readonly Action? ended;
    private readonly Thread reader;
    private readonly string? savedTerminal;
    private volatile bool stopping;

    /// <param name="ended">Called on the reader thread when no more input can come (end of stdin, a read error, Ctrl-A X).</param>
    public ConsoleInput(Pl011 uart, Action quit, Action? ended = null)
    {
        this.uart = uart;
        this.quit = quit;
        this.ended = ended;
        if (!System.Console.IsInputRedirected)
        {
            savedTerminal = Stty("-g")?.Trim();
            Stty("raw -echo");
        }
        reader = new Thread(ReadLoop) { IsBackground = true, Name = "console input" };
        reader.Start();
    }

    private void ReadLoop()
    {
        try
        {
            Read();
        }
        finally
        {
            ended?.Invoke();
        }
    }

    private void Read()
    {
        using var stdin = System.Console.OpenStandardInput();
        var buffer = new byte[256];
        bool escape = false;
        while (!stopping)
        {
            int n;
            try { n = stdin.Read(buffer); }
            catch (IOException) { return; }
            if (n <= 0) return; // end of input: the guest keeps running with nothing more to read
            for (int i = 0; i < n; i++)
            {
                byte b = buffer[i];
                if (savedTerminal is not null)
                {
                    if (escape)
                    {
                        escape = false;
                        if (b is (byte)'x' or (byte)'X') { quit(); return; }
                        if (b != CtrlA) continue;
                    }
                    else if (b == CtrlA)
                    {
                        escape = true;
                        continue;
                    }
                }
                Deliver(b);
            }
        }
    }

    private void Deliver(byte b)
    {
        while (!stopping && !(uart.ReceiveEnabled && uart.Receive(b))) Thread.Sleep(2);
    }

    private static string? Stty(string args)
    {
        try
        {
            var psi = new ProcessStartInfo("stty", args) { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p is null) return null;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    public void Dispose()
    {
        stopping = true;
        if (savedTerminal is not null) Stty(savedTerminal);
    }
}
