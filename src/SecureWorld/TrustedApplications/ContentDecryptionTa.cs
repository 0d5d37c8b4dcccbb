using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using Jit.SecureWorld.Optee;

namespace Jit.SecureWorld.TrustedApplications;

/// <summary>
/// A content-decryption TA shaped like a DRM player's: a session is opened for one content key (params[0] value
/// input, a = key ID); then each encrypted sample is one invoke of <see cref="CmdDecrypt"/> with the sample
/// (params[0] memref input), the room for the clear sample (params[1] memref output) and its 16-byte IV (params[2]
/// memref input), decrypted with AES-128-CTR: the IV is the first counter block, a 128-bit big-endian number
/// incremented by one per block. The key never leaves the secure world.
/// </summary>
public sealed class ContentDecryptionTa(ContentKeys keys) : ITrustedApplication
{
    public static readonly Guid TaUuid = new("ccf7b025-e55c-4090-a497-468515a16c91");

    public const uint CmdDecrypt = 0;

    /// <summary>The largest sample one invoke decrypts.</summary>
    public const ulong MaxSample = 16 << 20;

    private const int BlockSize = 16;
    /// <summary>A sample is decrypted in chunks of this size, through buffers the session owns.</summary>
    private const int Chunk = 4096;

    public Guid Uuid => TaUuid;
    public string Name => "content-decryption";
    public bool IsDevice => false;

    /// <summary>One key's cipher and the buffers of its chunks, made at open: a decrypt allocates nothing.</summary>
    private sealed class DecryptSession : IDisposable
    {
        private readonly Aes aes;
        private readonly ICryptoTransform ecb;

        public readonly byte[] Counters = new byte[Chunk];
        public readonly byte[] KeyStream = new byte[Chunk];
        public readonly byte[] Data = new byte[Chunk];

        public DecryptSession(byte[] key)
        {
            aes = Aes.Create();
            aes.Key = key;
            aes.Mode = CipherMode.ECB;
            aes.Padding = PaddingMode.None;
            ecb = aes.CreateEncryptor();
        }

        /// <summary>AES-128-ECB of whole counter blocks: the CTR key stream.</summary>
        public void Encrypt(int bytes) => ecb.TransformBlock(Counters, 0, bytes, KeyStream, 0);

        public void Dispose()
        {
            ecb.Dispose();
            aes.Dispose();
            CryptographicOperations.ZeroMemory(KeyStream);
            CryptographicOperations.ZeroMemory(Data);
        }
    }

    public TaReturn OpenSession(TaInvocation call)
    {
        var p = call.Params;
        if (p[0].Type != TaParamType.ValueInput || p[1].Type != TaParamType.None || p[2].Type != TaParamType.None
            || p[3].Type != TaParamType.None)
            return TeeResult.ErrorBadParameters;
        if (!keys.TryGet(p[0].A, out var key)) return TeeResult.ErrorItemNotFound;
        call.Session = new DecryptSession(key);
        return TeeResult.Success;
    }

    public TaReturn Invoke(TaInvocation call)
    {
        if (call.Command != CmdDecrypt) return TeeResult.ErrorNotImplemented;
        var p = call.Params;
        if (p[0].Type != TaParamType.MemrefInput || p[1].Type != TaParamType.MemrefOutput || p[2].Type != TaParamType.MemrefInput
            || p[3].Type != TaParamType.None)
            return TeeResult.ErrorBadParameters;
        ulong length = p[0].Size;
        if (length > MaxSample || p[2].Size != BlockSize) return TeeResult.ErrorBadParameters;
        ulong room = p[1].Size;
        p[1].Size = length;
        if (room < length) return TeeResult.ErrorShortBuffer;
        if (length == 0) return TeeResult.Success;

        Span<byte> iv = stackalloc byte[BlockSize];
        if (!p[2].Buffer.Read(0, iv)) return TeeResult.ErrorBadParameters;
        ulong high = BinaryPrimitives.ReadUInt64BigEndian(iv), low = BinaryPrimitives.ReadUInt64BigEndian(iv[8..]);

        var session = (DecryptSession)call.Session!;
        for (ulong done = 0; done < length;)
        {
            int n = (int)Math.Min((ulong)Chunk, length - done);
            int blocks = (n + BlockSize - 1) / BlockSize;
            var counters = session.Counters.AsSpan();
            for (int b = 0; b < blocks; b++)
            {
                BinaryPrimitives.WriteUInt64BigEndian(counters[(b * BlockSize)..], high);
                BinaryPrimitives.WriteUInt64BigEndian(counters[(b * BlockSize + 8)..], low);
                if (++low == 0) high++;
            }
            session.Encrypt(blocks * BlockSize);
            var data = session.Data.AsSpan(0, n);
            if (!p[0].Buffer.Read(done, data)) return TeeResult.ErrorBadParameters;
            Xor(data, session.KeyStream.AsSpan(0, n));
            if (!p[1].Buffer.Write(done, data)) return TeeResult.ErrorBadParameters;
            done += (ulong)n;
        }
        return TeeResult.Success;
    }

    private static void Xor(Span<byte> data, ReadOnlySpan<byte> keyStream)
    {
        int i = 0;
        for (; i + 16 <= data.Length; i += 16)
        {
            var v = Vector128.Create<byte>(data[i..]) ^ Vector128.Create<byte>(keyStream[i..]);
            v.CopyTo(data[i..]);
        }
        for (; i < data.Length; i++) data[i] ^= keyStream[i];
    }

    public void CloseSession(object? session) => (session as DecryptSession)?.Dispose();
}
