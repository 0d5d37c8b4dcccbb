using System.Runtime.InteropServices;
using Jit.Runtime.Memory;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>
/// Pages in a domain's IPA space that are not its own RAM, as a hostile guest hands them to a mediator: a device
/// window, a read-only page, and a page of another domain's RAM lent to it (a grant). Freed with the test.
/// </summary>
public sealed unsafe class OddPages : IDisposable
{
    public const ulong Mmio = 0x0900_0000, ReadOnly = 0x3000_0000, Foreign = 0x3000_1000;

    private readonly byte* device = (byte*)NativeMemory.AlignedAlloc(4096, 4096);
    private readonly byte* readOnly = (byte*)NativeMemory.AlignedAlloc(4096, 4096);

    /// <summary>Maps the three into <paramref name="g"/>'s p2m, the foreign one from <paramref name="lender"/>'s RAM.</summary>
    public OddPages(TeeGuest g, TeeGuest lender)
    {
        var p2m = g.Domain.Memory.P2m;
        p2m.Map(Mmio, 4096, device, P2mType.MmioTrap);
        p2m.Map(ReadOnly, 4096, readOnly, P2mType.RamReadOnly);
        p2m.Map(Foreign, 4096, lender.Domain.Memory.Banks[0].Host + 0x20_0000, P2mType.Foreign);
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(device);
        NativeMemory.AlignedFree(readOnly);
    }
}
