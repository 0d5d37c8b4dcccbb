using System.Runtime.CompilerServices;
using Jit.Runtime.Startup;

namespace Jit.Runtime.Memory;

/// <summary>
/// A domain's memory through its p2m, for devices and hypervisor services, page by page. A write is checked
/// whole before its first byte lands, so one the guest could not have made changes nothing. Writes into pages
/// that hold translated code drop that code, as the guest's own stores do (a disk read into the page cache
/// may be run next).
/// </summary>
[CompiledEarly]
public sealed unsafe class GuestMemory(PhysicalMemory ram) : IDmaPort
{
    public GuestMemoryStatus Read(ulong ipa, Span<byte> destination)
    {
        if (!InRange(ipa, destination.Length)) return GuestMemoryStatus.NotMapped;
        if (Aligned(ipa, destination.Length))
        {
            byte* p = ram.P2m.Readable(ipa);
            if (p == null) return GuestMemoryStatus.NotMapped;
            LoadAtomic(p, destination);
            return GuestMemoryStatus.Ok;
        }
        int done = 0;
        while (done < destination.Length)
        {
            ulong at = ipa + (ulong)done;
            int chunk = (int)Math.Min((ulong)(destination.Length - done), 4096 - (at & 0xFFF));
            byte* p = ram.P2m.Readable(at);
            if (p == null) return GuestMemoryStatus.NotMapped;
            new ReadOnlySpan<byte>(p, chunk).CopyTo(destination.Slice(done, chunk));
            done += chunk;
        }
        return GuestMemoryStatus.Ok;
    }

    public GuestMemoryStatus Write(ulong ipa, ReadOnlySpan<byte> source)
    {
        if (!InRange(ipa, source.Length)) return GuestMemoryStatus.NotMapped;
        // Every page first: a write the guest could not have made lands nowhere.
        for (ulong page = ipa & ~0xFFFUL; page < ipa + (ulong)source.Length; page += 4096)
        {
            if (ram.P2m.Writable(page) != null) continue;
            return ram.P2m.Readable(page) != null ? GuestMemoryStatus.ReadOnly : GuestMemoryStatus.NotMapped;
        }
        int done = 0;
        while (done < source.Length)
        {
            ulong at = ipa + (ulong)done;
            int chunk = (int)Math.Min((ulong)(source.Length - done), 4096 - (at & 0xFFF));
            byte* p = ram.P2m.Writable(at);
            if (ram.IsCodePage(at)) ram.NotifyCodeWrite(at, chunk);
            if (Aligned(at, chunk)) StoreAtomic(p, source.Slice(done, chunk));
            else source.Slice(done, chunk).CopyTo(new Span<byte>(p, chunk));
            done += chunk;
        }
        return GuestMemoryStatus.Ok;
    }

    public GuestMemoryStatus Probe(ulong ipa, bool write)
    {
        if (ipa >= P2m.IpaLimit) return GuestMemoryStatus.NotMapped;
        if (ram.P2m.Writable(ipa) != null) return GuestMemoryStatus.Ok;
        if (ram.P2m.Readable(ipa) == null) return GuestMemoryStatus.NotMapped;
        return write ? GuestMemoryStatus.ReadOnly : GuestMemoryStatus.Ok;
    }

    private static bool InRange(ulong ipa, int length) =>
        length >= 0 && ipa < P2m.IpaLimit && (ulong)length <= P2m.IpaLimit - ipa;

    private static bool Aligned(ulong ipa, int length) =>
        length is 2 or 4 or 8 && (ipa & (ulong)(length - 1)) == 0;

    private static void LoadAtomic(byte* p, Span<byte> to)
    {
        switch (to.Length)
        {
            case 2: Unsafe.WriteUnaligned(ref to[0], Volatile.Read(ref *(ushort*)p)); break;
            case 4: Unsafe.WriteUnaligned(ref to[0], Volatile.Read(ref *(uint*)p)); break;
            default: Unsafe.WriteUnaligned(ref to[0], Volatile.Read(ref *(ulong*)p)); break;
        }
    }

    private static void StoreAtomic(byte* p, ReadOnlySpan<byte> from)
    {
        switch (from.Length)
        {
            case 2: Volatile.Write(ref *(ushort*)p, Unsafe.ReadUnaligned<ushort>(in from[0])); break;
            case 4: Volatile.Write(ref *(uint*)p, Unsafe.ReadUnaligned<uint>(in from[0])); break;
            default: Volatile.Write(ref *(ulong*)p, Unsafe.ReadUnaligned<ulong>(in from[0])); break;
        }
    }
}
