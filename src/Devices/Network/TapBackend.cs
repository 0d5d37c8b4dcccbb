using System.Runtime.InteropServices;
using System.Text;
using Jit.Devices.Virtio;
using Jit.Runtime;

namespace Jit.Devices.Network;

/// <summary>
/// A host TAP interface as a network device's backend: Linux's tun driver (/dev/net/tun) in TAP mode without
/// packet information, so each read or write on the descriptor is one whole Ethernet frame. With virtio headers
/// (IFF_VNET_HDR, 12 bytes as VERSION_1 has them) each frame carries a virtio_net_hdr both ways, so the guest's
/// 64 KiB TCP segments and partial checksums go to the host's stack as they are, and the host's come back whole as
/// far as <see cref="SetReceiveOffloads"/> allows (TUNSETOFFLOAD). The guest's frames are
/// written as it transmits them (the descriptor does not block: a frame the host cannot take is dropped); a thread
/// waits in poll() for the host's frames and hands them to the receiver. The interface lives as long as the
/// descriptor, so disposing the backend removes it. Creating one needs CAP_NET_ADMIN; bringing it up, giving it
/// addresses or putting it in a bridge is the host's business (ip link, as Xen's vif scripts do).
/// </summary>
public sealed unsafe partial class TapBackend : IVirtioHeaderBackend, IDisposable
{
    public const string TunDevice = "/dev/net/tun";
    /// <summary>IFNAMSIZ less the terminating NUL.</summary>
    public const int MaxNameLength = 15;

    // linux/if_tun.h, linux/if.h: TUNSETIFF is _IOW('T', 202, int) and takes a struct ifreq (40 bytes on LP64: the
    // name in 16, then a union whose ifr_flags is a short).
    private const nuint TunSetIff = 0x400454CA;
    // _IOW('T', 208, unsigned int) and _IOW('T', 216, int).
    private const nuint TunSetOffload = 0x400454D0, TunSetVnetHdrSz = 0x400454D8;
    private const uint TunFCsum = 0x01, TunFTso4 = 0x02, TunFTso6 = 0x04, TunFTsoEcn = 0x08;
    private const short IffTap = 0x0002, IffNoPi = 0x1000, IffVnetHdr = 0x4000;
    private const int IfReqSize = 40, IfNameSize = 16, IfFlagsOffset = 16;
    private const int OpenReadWrite = 2, OpenNonBlocking = 0x800, OpenCloseOnExec = 0x80000;
    private const short PollIn = 0x1, PollError = 0x8, PollHangUp = 0x10, PollInvalid = 0x20;
    private const int Eperm = 1, Eintr = 4, Eagain = 11, Eacces = 13;
    // A read takes one frame and truncates what does not fit; the host's MTU may be larger than the guest's, and
    // a segment the host hands over whole is up to 64 KiB of IP behind its headers.
    private const int ReadBufferSize = 96 * 1024;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events, Revents;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, byte* argument);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint writev(int fd, IoVec* iov, int count);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint count, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initial, int flags);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    private readonly object writeGate = new();
    private readonly object startGate = new();
    private int fd;             // -1 once closed, under writeGate
    private readonly int stopFd;  // an eventfd that ends the reader's poll
    private volatile FrameReceiver? receiver;
    private Thread? reader;
    private volatile bool stopping;
    private int disposed;
    private long transmittedFrames, transmittedBytes, transmitDropped, receivedFrames, receivedBytes, receiveDropped;

    /// <summary>
    /// Creates the TAP interface <paramref name="name"/>, or one the kernel names (tap0, tap1, ...) when it is null or
    /// empty; a name with "%d" is numbered by the kernel. Throws <see cref="NetworkBackendException"/> when the host
    /// will not, e.g. without CAP_NET_ADMIN or when a non-TAP interface has that name.
    /// </summary>
    /// <param name="virtioHeaders">Every frame carries a virtio_net_hdr both ways (<see cref="IVirtioHeaderBackend"/>); receive offloads start off.</param>
    public TapBackend(string? name = null, bool virtioHeaders = false) : this(name, TunDevice, virtioHeaders) { }

    internal TapBackend(string? name, string tunDevice, bool virtioHeaders = false)
    {
        VirtioHeaders = virtioHeaders;
        name ??= "";
        if (name.Contains('\0') || Encoding.UTF8.GetByteCount(name) > MaxNameLength)
            throw new NetworkBackendException($"{Describe(name)}: an interface name is at most {MaxNameLength} bytes, without NUL");
        if (!OperatingSystem.IsLinux()) throw new NetworkBackendException($"{Describe(name)}: TAP interfaces are Linux's");

        fd = open(tunDevice, OpenReadWrite | OpenNonBlocking | OpenCloseOnExec);
        if (fd < 0) throw Failure(name, $"cannot open {tunDevice}", Marshal.GetLastPInvokeError());
        byte* request = stackalloc byte[IfReqSize];
        new Span<byte>(request, IfReqSize).Clear();
        Encoding.UTF8.GetBytes(name, new Span<byte>(request, MaxNameLength));
        *(short*)(request + IfFlagsOffset) = (short)(IffTap | IffNoPi | (virtioHeaders ? IffVnetHdr : 0));
        if (ioctl(fd, TunSetIff, request) < 0)
        {
            var failure = Failure(name, "TUNSETIFF", Marshal.GetLastPInvokeError());
            close(fd);
            throw failure;
        }
        if (virtioHeaders)
        {
            int size = VirtioNet.HeaderSize;
            uint none = 0;
            if (ioctl(fd, TunSetVnetHdrSz, (byte*)&size) < 0 || ioctl(fd, TunSetOffload, (byte*)none) < 0)
            {
                var failure = Failure(name, "TUNSETVNETHDRSZ/TUNSETOFFLOAD", Marshal.GetLastPInvokeError());
                close(fd);
                throw failure;
            }
        }
        Name = Encoding.UTF8.GetString(new ReadOnlySpan<byte>(request, IfNameSize).TrimEnd((byte)0));

        stopFd = eventfd(0, OpenNonBlocking | OpenCloseOnExec);  // EFD_NONBLOCK and EFD_CLOEXEC are the O_ values
        if (stopFd < 0)
        {
            var failure = Failure(Name, "eventfd", Marshal.GetLastPInvokeError());
            close(fd);
            throw failure;
        }
    }

    /// <summary>The interface's name on the host, as the kernel made it.</summary>
    public string Name { get; }

    /// <summary>Whether frames carry a virtio_net_hdr both ways: then the receiver gets the header in front of each frame.</summary>
    public bool VirtioHeaders { get; }

    /// <summary>Transmitted: the guest's frames written to the host (or not taken). Received: the host's frames delivered to the guest (or refused).</summary>
    public NetworkCounters Counters => new(
        Interlocked.Read(ref transmittedFrames), Interlocked.Read(ref transmittedBytes), Interlocked.Read(ref transmitDropped),
        Interlocked.Read(ref receivedFrames), Interlocked.Read(ref receivedBytes), Interlocked.Read(ref receiveDropped));

    /// <summary>Starts delivering the host's frames to <paramref name="receive"/> (on the first call; later calls change the receiver).</summary>
    public void Connect(FrameReceiver receive)
    {
        receiver = receive;
        lock (startGate)
        {
            if (reader is not null || Volatile.Read(ref disposed) != 0) return;
            reader = new Thread(ReadFrames) { IsBackground = true, Name = $"tap {Name}" };
            reader.Start();
        }
    }

    /// <summary>A frame without a header; with <see cref="VirtioHeaders"/> it goes out behind an empty one (nothing to offload).</summary>
    public void Transmit(ReadOnlySpan<byte> frame)
    {
        byte* none = stackalloc byte[VirtioNet.HeaderSize];
        new Span<byte>(none, VirtioNet.HeaderSize).Clear();
        Write(VirtioHeaders ? new ReadOnlySpan<byte>(none, VirtioNet.HeaderSize) : default, frame);
    }

    public void TransmitWithHeader(ReadOnlySpan<byte> headerAndFrame)
    {
        if (!VirtioHeaders) throw new InvalidOperationException($"tap {Name}: opened without virtio headers");
        Write(default, headerAndFrame);
    }

    public void SetReceiveOffloads(bool checksum, bool tso4, bool tso6, bool ecn)
    {
        if (!VirtioHeaders) throw new InvalidOperationException($"tap {Name}: opened without virtio headers");
        // The kernel takes segmentation only with checksums (TSO implies a checksum to fill in).
        uint flags = checksum ? TunFCsum | (tso4 ? TunFTso4 : 0) | (tso6 ? TunFTso6 : 0) | (ecn && (tso4 || tso6) ? TunFTsoEcn : 0) : 0;
        int error = 0;
        lock (writeGate)
            if (fd >= 0 && ioctl(fd, TunSetOffload, (byte*)flags) < 0) error = Marshal.GetLastPInvokeError();
        if (error != 0) Log.Once($"tap:{Name}:offload:{error}", $"tap {Name}: TUNSETOFFLOAD 0x{flags:x} refused, the host keeps segmenting: {ErrorText(error)}");
    }

    private void Write(ReadOnlySpan<byte> header, ReadOnlySpan<byte> frame)
    {
        nint written;
        int error = 0;
        lock (writeGate)
        {
            if (fd < 0)
            {
                Interlocked.Increment(ref transmitDropped);
                return;
            }
            fixed (byte* h = header)
            fixed (byte* bytes = frame)
            {
                var parts = stackalloc IoVec[2];
                parts[0] = new IoVec { Base = h, Length = (nuint)header.Length };
                parts[1] = new IoVec { Base = bytes, Length = (nuint)frame.Length };
                written = header.IsEmpty ? write(fd, bytes, (nuint)frame.Length) : writev(fd, parts, 2);
            }
            if (written < 0) error = Marshal.GetLastPInvokeError();
        }
        if (written == header.Length + frame.Length)
        {
            Interlocked.Increment(ref transmittedFrames);
            Interlocked.Add(ref transmittedBytes, frame.Length);
            return;
        }
        Interlocked.Increment(ref transmitDropped);
        if (error != Eagain)
            Log.Once($"tap:{Name}:write:{error}", $"tap {Name}: a frame the guest sent was not taken: {ErrorText(error)}");
    }

    private void ReadFrames()
    {
        var buffer = new byte[ReadBufferSize];
        var fds = stackalloc PollFd[2];
        fds[0] = new PollFd { Fd = fd, Events = PollIn };
        fds[1] = new PollFd { Fd = stopFd, Events = PollIn };
        fixed (byte* bytes = buffer)
        {
            while (!stopping)
            {
                fds[0].Revents = fds[1].Revents = 0;
                if (poll(fds, 2, -1) < 0)
                {
                    int error = Marshal.GetLastPInvokeError();
                    if (error == Eintr) continue;
                    Log.Warn($"tap {Name}: poll failed, no more frames from the host: {ErrorText(error)}");
                    return;
                }
                if (fds[1].Revents != 0) return;
                if ((fds[0].Revents & (PollError | PollHangUp | PollInvalid)) != 0)
                {
                    Log.Warn($"tap {Name}: the interface went away, no more frames from the host");
                    return;
                }
                while (!stopping)
                {
                    nint n = read(fd, bytes, ReadBufferSize);
                    if (n < 0)
                    {
                        int error = Marshal.GetLastPInvokeError();
                        if (error == Eintr) continue;
                        if (error == Eagain) break;
                        Log.Warn($"tap {Name}: read failed, no more frames from the host: {ErrorText(error)}");
                        return;
                    }
                    Deliver(new ReadOnlySpan<byte>(bytes, (int)n));
                }
            }
        }
    }

    private void Deliver(ReadOnlySpan<byte> frame)
    {
        int header = VirtioHeaders ? VirtioNet.HeaderSize : 0;
        if (frame.Length >= NetworkSwitch.HeaderSize + header && receiver is { } receive && receive(frame))
        {
            Interlocked.Increment(ref receivedFrames);
            Interlocked.Add(ref receivedBytes, frame.Length - header);
        }
        else Interlocked.Increment(ref receiveDropped);
    }

    /// <summary>Stops the reader (at once: it waits on the stop descriptor too) and removes the interface. Not from the receiver.</summary>
    public void Dispose()
    {
        Thread? running;
        lock (startGate)
        {
            running = reader;
            if (running == Thread.CurrentThread) throw new InvalidOperationException($"tap {Name}: disposed from its own receiver");
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        }
        stopping = true;
        ulong one = 1;
        write(stopFd, (byte*)&one, sizeof(ulong));
        running?.Join();
        lock (writeGate)
        {
            close(fd);
            fd = -1;
        }
        close(stopFd);
    }

    private static string Describe(string name) => name.Length == 0 ? "tap (a name the kernel chooses)" : $"tap {name}";

    private static string ErrorText(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    private static NetworkBackendException Failure(string name, string what, int errno) =>
        new($"{Describe(name)}: {what}: {ErrorText(errno)}" + (errno is Eperm or Eacces ? "; creating a TAP interface needs CAP_NET_ADMIN (root)" : ""));
}
