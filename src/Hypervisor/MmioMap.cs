using Jit.Devices;
using Jit.Runtime.Memory;

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

    public bool Read(ulong pa, int size, out ulong value)
    {
        int i = IndexOf(pa);
        if (i < 0 || !Fits(regions[i], pa, size))
        {
            value = 0;
            return false;
        }
        return regions[i].Device.Read(pa - regions[i].Base, size, out value);
    }

    public bool Write(ulong pa, int size, ulong value)
    {
        int i = IndexOf(pa);
        if (i < 0 || !Fits(regions[i], pa, size)) return false;
        return regions[i].Device.Write(pa - regions[i].Base, size, value);
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
