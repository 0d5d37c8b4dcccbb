using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Jit.Tool.Bench;

/// <summary>
/// The stream guests/tee/tee-client.c plays with <c>tee-client drm FRAMES</c>, computed on the host: per frame of
/// 30 fps video one video sample of 36–44 KiB and three audio samples of about 1 KiB, each decrypted by the
/// content-decryption TA with AES-128-CTR under key <see cref="Key"/>; the checksum is FNV-1a 64 over every
/// decrypted byte in stream order. The client's comment says how a sample's length, bytes and IV are made;
/// this is the same, so a run's checksum shows that every sample came back right.
/// </summary>
public static class DrmStream
{
    public const uint Key = 1;
    public const int SamplesPerFrame = 4;

    public static int SampleLength(ulong s) => s % SamplesPerFrame == 0
        ? 36 * 1024 + (int)(s * 2654435761u % (8 * 1024))
        : 960 + (int)(s * 40503u % 128);

    public static void SampleContent(ulong s, Span<byte> data)
    {
        ulong x = (s + 1) * 0x9E3779B97F4A7C15UL;
        for (int i = 0; i < data.Length; i++)
        {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            data[i] = (byte)(x >> 56);
        }
    }

    /// <summary>The sample's IV: its index big-endian in bytes 0–7, zeros after.</summary>
    public static byte[] Iv(ulong s)
    {
        var iv = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(iv, s);
        return iv;
    }

    /// <summary>AES-128-CTR with a 128-bit big-endian counter starting at <paramref name="iv"/>.</summary>
    public static byte[] CtrDecrypt(byte[] key, byte[] iv, ReadOnlySpan<byte> data)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        int blocks = (data.Length + 15) / 16;
        var counters = new byte[blocks * 16];
        var counter = (UInt128)BinaryPrimitives.ReadUInt64BigEndian(iv) << 64 | BinaryPrimitives.ReadUInt64BigEndian(iv.AsSpan(8));
        for (int b = 0; b < blocks; b++, counter++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(counters.AsSpan(b * 16), (ulong)(counter >> 64));
            BinaryPrimitives.WriteUInt64BigEndian(counters.AsSpan(b * 16 + 8), (ulong)counter);
        }
        var stream = aes.EncryptEcb(counters, PaddingMode.None);
        var plain = new byte[data.Length];
        for (int i = 0; i < data.Length; i++) plain[i] = (byte)(data[i] ^ stream[i]);
        return plain;
    }

    /// <summary>The checksum <c>tee-client drm</c> prints for <paramref name="frames"/> frames, as 16 hex digits.</summary>
    public static string Checksum(int frames, byte[] key)
    {
        ulong sum = 0xcbf29ce484222325UL;
        var data = new byte[48 * 1024];
        for (ulong s = 0; s < (ulong)frames * SamplesPerFrame; s++)
        {
            var sample = data.AsSpan(0, SampleLength(s));
            SampleContent(s, sample);
            foreach (byte b in CtrDecrypt(key, Iv(s), sample)) sum = (sum ^ b) * 0x100000001b3UL;
        }
        return sum.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }
}
