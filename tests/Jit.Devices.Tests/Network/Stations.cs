using System.Collections.Concurrent;
using System.Buffers.Binary;
using Jit.Devices.Network;

namespace Jit.Devices.Tests.Network;

/// <summary>What a port's device heard: every frame delivered to it, from any thread.</summary>
public sealed class Station
{
    public readonly ConcurrentQueue<byte[]> Frames = new();
    public bool Refuse;

    public bool Receive(ReadOnlySpan<byte> frame)
    {
        if (Refuse) return false;
        Frames.Enqueue(frame.ToArray());
        return true;
    }

    public int Count => Frames.Count;
}

/// <summary>A clock the test moves, 1000 ticks a second.</summary>
public sealed class ManualTime : TimeProvider
{
    private long now = 1_000_000;
    public override long TimestampFrequency => 1000;
    public override long GetTimestamp() => Interlocked.Read(ref now);
    public void Advance(TimeSpan by) => Interlocked.Add(ref now, (long)by.TotalMilliseconds);
}

public static class Ethernet
{
    public static readonly byte[] Broadcast = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

    /// <summary>A locally administered individual address ending in <paramref name="n"/>.</summary>
    public static byte[] Mac(int n) => [0x02, 0x00, (byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n];

    /// <summary>A frame of <paramref name="length"/> bytes whose payload starts with <paramref name="tag"/>.</summary>
    public static byte[] Frame(byte[] destination, byte[] source, int length = 60, int tag = 0, ushort etherType = 0x88B5)
    {
        var f = new byte[length];
        destination.CopyTo(f, 0);
        source.CopyTo(f, 6);
        if (length >= 14) BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), etherType);
        if (length >= 18) BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(14), tag);
        return f;
    }

    public static int Tag(byte[] frame) => BinaryPrimitives.ReadInt32LittleEndian(frame.AsSpan(14));
}
