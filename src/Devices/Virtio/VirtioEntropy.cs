using System.Security.Cryptography;

namespace Jit.Devices.Virtio;

/// <summary>Where virtio-rng's bytes come from.</summary>
public interface IEntropySource
{
    void Fill(Span<byte> destination);
}

/// <summary>The host's cryptographic generator: what a guest should get.</summary>
public sealed class HostEntropy : IEntropySource
{
    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}

/// <summary>
/// A fixed stream for a fixed seed (xoshiro256**, seeded through SplitMix64), so that a run can be repeated byte
/// for byte, however the guest sizes its requests. Not for secrets.
/// </summary>
public sealed class SeededEntropy : IEntropySource
{
    private ulong s0, s1, s2, s3;

    public SeededEntropy(ulong seed)
    {
        s0 = SplitMix(ref seed);
        s1 = SplitMix(ref seed);
        s2 = SplitMix(ref seed);
        s3 = SplitMix(ref seed);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E37_79B9_7F4A_7C15;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }

    private ulong Next()
    {
        ulong result = ulong.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    // Bytes of the last word not handed out yet: the stream is the same however requests cut it.
    private ulong leftover;
    private int leftoverBytes;

    public void Fill(Span<byte> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            if (leftoverBytes == 0)
            {
                leftover = Next();
                leftoverBytes = 8;
            }
            destination[i] = (byte)leftover;
            leftover >>= 8;
            leftoverBytes--;
        }
    }
}

/// <summary>
/// virtio-rng (virtio 1.2 5.4): one request queue of device-writable buffers, each filled with entropy. A request
/// gets at most 64 KiB (5.4.6 lets the device return fewer bytes than asked).
/// </summary>
public sealed class VirtioEntropy(IEntropySource source) : VirtioDevice
{
    private const int MaxPerRequest = 64 * 1024, ChunkSize = 4096;
    private readonly byte[] chunk = new byte[ChunkSize];

    public override ushort DeviceType => 4;
    public override string Name => "virtio-rng";
    public override uint PciClassCode => 0xFF_00_00; // device does not fit any defined class
    public override ulong DeviceFeatures => 0;
    public override int QueueCount => 1;
    public override int ConfigSize => 0;

    public override void ReadConfig(int offset, Span<byte> data) => data.Clear();

    protected internal override void QueueNotified(VirtQueue queue)
    {
        while (queue.TryPop(out var request))
        {
            uint length = Math.Min(request.WritableLength, MaxPerRequest), done = 0;
            while (done < length)
            {
                var part = chunk.AsSpan(0, (int)Math.Min(ChunkSize, length - done));
                source.Fill(part);
                if (!request.Write(done, part)) return;
                done += (uint)part.Length;
            }
            queue.Push(request, length);
        }
    }
}
