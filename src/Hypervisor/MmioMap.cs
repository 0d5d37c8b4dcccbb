using Jit.Devices;
using Jit.Runtime.Memory;
using Jit.Runtime.Startup;

namespace Jit.Hypervisor;

/// <summary>
/// The physical ranges of a domain that belong to virtual devices. The MMU's slow path asks it about every
/// physical address that is not RAM; an address no device claims is refused, and the guest takes a data abort
/// (Xen's default for unmapped addresses).
/// </summary>
/// <remarks>
/// Devices are registered while the domain is built and the map is read-only afterwards, so lookups take no
/// lock. A domain has a handful of devices: a sorted array with binary search is both simple and fast.
/// </remarks>
[CompiledEarly]
public sealed class MmioMap : IMmioBus
{
    public readonly record struct Region(ulong Base, ulong Size, IMmioDevice Device)
    {
        public ulong End => Base + Size;
    }

    private Region[] regions = [];

    public IReadOnlyList<Region> Regions => regions;

    /// <summary>Claims [<paramref name="base"/>, base + device.WindowSize) for <paramref name="device"/>.</summary>
    /// <exception cref="ArgumentException">The window is empty, wraps, or overlaps a registered device.</exception>
    public void Register(ulong @base, IMmioDevice device) => Register(@base, device.WindowSize, device);

    public void Register(ulong @base, ulong size, IMmioDevice device)
    {
        if (size == 0 || @base + size < @base)
            throw new ArgumentException($"{device.Name}: MMIO window 0x{@base:x}+0x{size:x} is empty or wraps");
        if (size > device.WindowSize)
            throw new ArgumentException($"{device.Name}: MMIO window 0x{size:x} is larger than the device's 0x{device.WindowSize:x}");
        foreach (var r in regions)
            if (@base < r.End && r.Base < @base + size)
                throw new ArgumentException(
                    $"{device.Name}: MMIO window 0x{@base:x}+0x{size:x} overlaps {r.Device.Name} at 0x{r.Base:x}+0x{r.Size:x}");
        var next = new Region[regions.Length + 1];
        int i = 0;
        for (; i < regions.Length && regions[i].Base < @base; i++) next[i] = regions[i];
        next[i] = new Region(@base, size, device);
        for (; i < regions.Length; i++) next[i + 1] = regions[i];
        regions = next;
    }

    /// <summary>The region holding <paramref name="pa"/>, or null.</summary>
    public Region? Find(ulong pa)
    {
        int i = IndexOf(pa);
        return i < 0 ? null : regions[i];
    }

    /// <summary>
    /// Called after every access that reaches the map, claimed or not (<c>jit run --trace mmio</c>); null when
    /// nobody traces. MMIO is already the slow path, so the check costs nothing measurable.
    /// </summary>
    public Action<MmioAccess>? Trace { get; set; }

    public bool Read(ulong pa, int size, out ulong value)
    {
        int i = IndexOf(pa);
        bool ok;
        if (i < 0 || !Fits(regions[i], pa, size))
        {
            value = 0;
            ok = false;
        }
        else
        {
            ok = regions[i].Device.Read(pa - regions[i].Base, size, out value);
        }
        Trace?.Invoke(new MmioAccess(false, pa, size, value, ok, i < 0 ? null : regions[i]));
        return ok;
    }

    public bool Write(ulong pa, int size, ulong value)
    {
        int i = IndexOf(pa);
        bool ok = i >= 0 && Fits(regions[i], pa, size) && regions[i].Device.Write(pa - regions[i].Base, size, value);
        Trace?.Invoke(new MmioAccess(true, pa, size, value, ok, i < 0 ? null : regions[i]));
        return ok;
    }

    // An access that runs past the end of a window would reach whatever follows it; refuse it instead.
    private static bool Fits(in Region r, ulong pa, int size) => size > 0 && pa - r.Base + (ulong)size <= r.Size;

    private int IndexOf(ulong pa)
    {
        var rs = regions;
        int lo = 0, hi = rs.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (pa < rs[mid].Base) hi = mid - 1;
            else if (pa - rs[mid].Base >= rs[mid].Size) lo = mid + 1;
            else return mid;
        }
        return -1;
    }
}

/// <summary>One MMIO access as the map handled it: <paramref name="Ok"/> false means the guest gets a data abort.</summary>
public readonly record struct MmioAccess(bool Write, ulong Pa, int Size, ulong Value, bool Ok, MmioMap.Region? Region);
