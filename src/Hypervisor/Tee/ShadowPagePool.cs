using Jit.Hypervisor.Memory;

namespace Jit.Hypervisor.Tee;

/// <summary>A 4 KiB page of hypervisor memory that the secure world reads by its machine address.</summary>
internal sealed unsafe class ShadowPage(byte* host, ulong machine)
{
    public const int Size = 4096;

    public ulong Machine { get; } = machine;
    public Span<byte> Bytes => new(host, Size);
}

/// <summary>
/// One domain's shadow pages (Xen's xen_arg pages and translated page lists): hypervisor memory shared with the
/// secure world, taken in chunks from the host's machine address space the first time they are needed and
/// reused from then on, so a call in steady state allocates nothing. Pages never pass between domains; the
/// whole pool goes back to the host when its domain is destroyed, after the secure world let go of it.
/// </summary>
internal sealed class ShadowPagePool(MachineMemoryMap map, int maxPages)
{
    private const int ChunkPages = 16;

    private readonly List<MachineRegion> chunks = [];
    private readonly Stack<ShadowPage> free = new(ChunkPages * 4);
    private int pages;

    /// <summary>Pages taken from the host so far.</summary>
    public int Pages => pages;

    /// <summary>A page, or null when the domain has used up its share.</summary>
    public unsafe ShadowPage? Rent()
    {
        if (free.TryPop(out var page)) return page;
        if (pages + ChunkPages > maxPages) return null;
        var chunk = map.AllocateShared(ChunkPages * ShadowPage.Size);
        chunks.Add(chunk);
        pages += ChunkPages;
        for (int i = ChunkPages - 1; i > 0; i--)
            free.Push(new ShadowPage(chunk.Host + i * ShadowPage.Size, chunk.Base + (ulong)(i * ShadowPage.Size)));
        return new ShadowPage(chunk.Host, chunk.Base);
    }

    public void Return(ShadowPage page) => free.Push(page);

    /// <summary>Unmaps and frees every page; nothing may use them afterwards.</summary>
    public void Release()
    {
        foreach (var chunk in chunks) map.FreeShared(chunk);
        chunks.Clear();
        free.Clear();
        pages = 0;
    }
}
