using System.Buffers.Binary;
using System.Numerics;

namespace Jit.Devices.Network;

/// <summary>
/// A switch's filtering database (IEEE 802.1Q 8.8): the port each station's individual MAC address was last seen on,
/// forgotten after the ageing time. Fixed-size and set-associative, as switch hardware keeps it: an address hashes to
/// one set of <see cref="Ways"/> entries, and a new address takes a free or aged entry of its set, else the set's
/// least recently seen. It never grows: a guest sending from ever new source addresses evicts entries, and the
/// switch floods more, as a real switch does, but cannot exhaust the host's memory. Learning and lookup look at one
/// set and allocate nothing. Not thread safe: the switch calls it under its lock.
/// </summary>
internal sealed class MacTable
{
    public const int Ways = 4;
    private const ulong Valid = 1UL << 48;

    private readonly ulong[] keys;              // address | Valid; 0 is a free entry
    private readonly SwitchPort?[] owners;
    private readonly long[] lastSeen;
    private readonly int setMask;
    private readonly long ageing;
    // Per table, so which addresses share a set cannot be worked out from outside.
    private readonly ulong seed = (ulong)Random.Shared.NextInt64();

    /// <param name="capacity">Entries: a power of two, at least <see cref="Ways"/>.</param>
    /// <param name="ageing">How long an entry lives without traffic from its station, in the clock's ticks.</param>
    public MacTable(int capacity, long ageing)
    {
        if (capacity < Ways || !BitOperations.IsPow2(capacity))
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"a power of two of at least {Ways}");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ageing);
        keys = new ulong[capacity];
        owners = new SwitchPort?[capacity];
        lastSeen = new long[capacity];
        setMask = capacity / Ways - 1;
        this.ageing = ageing;
    }

    public int Capacity => keys.Length;

    /// <summary>Live entries that made way for a new address.</summary>
    public long Evictions { get; private set; }

    /// <summary>The 48 bits of a MAC address as a number, the first octet the most significant.</summary>
    public static ulong Key(ReadOnlySpan<byte> mac) =>
        (ulong)BinaryPrimitives.ReadUInt16BigEndian(mac) << 32 | BinaryPrimitives.ReadUInt32BigEndian(mac[2..]);

    private int SetOf(ulong address) => (int)(((address ^ seed) * 0x9E37_79B9_7F4A_7C15UL) >> 40 & (ulong)setMask) * Ways;

    private bool Live(int i, long now) => keys[i] != 0 && now - lastSeen[i] <= ageing;

    /// <summary>A frame from <paramref name="address"/> came in on <paramref name="port"/> at <paramref name="now"/>.</summary>
    public void Learn(ulong address, SwitchPort port, long now)
    {
        int set = SetOf(address), victim = -1;
        long oldest = 0;
        for (int i = set; i < set + Ways; i++)
        {
            if (keys[i] == (address | Valid))
            {
                owners[i] = port;   // the station may have moved
                lastSeen[i] = now;
                return;
            }
            long rank = Live(i, now) ? lastSeen[i] : long.MinValue;
            if (victim < 0 || rank < oldest) (victim, oldest) = (i, rank);
        }
        if (oldest != long.MinValue) Evictions++;
        keys[victim] = address | Valid;
        owners[victim] = port;
        lastSeen[victim] = now;
    }

    /// <summary>The port <paramref name="address"/> was last seen on, if that was within the ageing time.</summary>
    public SwitchPort? Lookup(ulong address, long now)
    {
        int set = SetOf(address);
        for (int i = set; i < set + Ways; i++)
            if (keys[i] == (address | Valid)) return Live(i, now) ? owners[i] : null;
        return null;
    }

    /// <summary>Drops every address learned on <paramref name="port"/>.</summary>
    public void Forget(SwitchPort port)
    {
        for (int i = 0; i < keys.Length; i++)
        {
            if (owners[i] != port) continue;
            keys[i] = 0;
            owners[i] = null;
        }
    }

    public int Count(long now)
    {
        int n = 0;
        for (int i = 0; i < keys.Length; i++)
            if (Live(i, now)) n++;
        return n;
    }
}
