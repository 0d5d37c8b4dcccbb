using System.Buffers.Binary;
using Jit.Hypervisor.Memory;
using Jit.Hypervisor.Smccc;
using Jit.SecureWorld;
using Jit.SecureWorld.Ffa;

namespace Jit.Hypervisor.Tee;

/// <summary>The RX/TX buffers: the guest's, checked and kept in the guest, and their shadows, which the SPMC sees.</summary>
public sealed unsafe partial class FfaMediator
{
    // The shadow pair: TX, then RX, each limits.MaxBufferPages pages of hypervisor memory, mapped with the SPMC
    // as the domain's buffers from its creation to its destruction.
    private MachineRegion? shadow;
    private int ShadowSize => limits.MaxBufferPages * FfaAbi.PageSize;
    private Span<byte> ShadowTx => new(shadow!.Host, ShadowSize);
    private Span<byte> ShadowRx => new(shadow!.Host + ShadowSize, ShadowSize);

    // The guest's pair (IPAs) once it mapped one, and whether it owns its RX buffer (until FFA_RX_RELEASE).
    private ulong guestTx, guestRx;
    private int guestPages;
    private bool guestRxHeld;

    /// <summary>Whether the guest has mapped an RX/TX pair.</summary>
    public bool HasBuffers { get { lock (gate) return guestPages != 0; } }

    private void MapShadows()
    {
        shadow = ram.Map.AllocateShared((ulong)(2 * ShadowSize));
        var map = Secure(FfaAbi.RxTxMap64, shadow.Base, shadow.Base + (ulong)ShadowSize, (uint)limits.MaxBufferPages);
        if (!Succeeded(map))
        {
            ram.Map.FreeShared(shadow);
            shadow = null;
            throw new InvalidOperationException($"d{domId}: the SPMC refused the domain's RX/TX buffers (error {(int)(uint)map.A2})");
        }
    }

    /// <summary>Unmaps the shadows at the SPMC, then frees them: the SPMC must not write them once they are gone.</summary>
    private void UnmapShadows()
    {
        if (shadow is null) return;
        Secure(FfaAbi.RxTxUnmap);
        ram.Map.FreeShared(shadow);
        shadow = null;
    }

    /// <summary>Every partition, by FFA_PARTITION_INFO_GET into the shadow RX as the domain (FF-A 1.1 descriptors).</summary>
    private void DiscoverPartitions()
    {
        var info = Secure(FfaAbi.PartitionInfoGet);
        if (!Succeeded(info))
        {
            // No partition at all is INVALID_PARAMETERS: a domain with nothing to talk to.
            partitions = [];
            properties = [];
            return;
        }
        int count = (int)Math.Min((uint)info.A2, (uint)(ShadowSize / FfaAbi.PartitionInfoSize11));
        var rx = ShadowRx;
        partitions = new ushort[count];
        properties = new uint[count];
        for (int i = 0; i < count; i++)
        {
            var descriptor = rx.Slice(i * FfaAbi.PartitionInfoSize11, FfaAbi.PartitionInfoSize11);
            partitions[i] = BinaryPrimitives.ReadUInt16LittleEndian(descriptor);
            properties[i] = BinaryPrimitives.ReadUInt32LittleEndian(descriptor[4..]);
        }
        Secure(FfaAbi.RxRelease);
    }

    /// <summary>FFA_RXTX_MAP: x1 TX, x2 RX, w3[5:0] pages; both page-aligned, apart, and the domain's own RAM.</summary>
    private void RxTxMap(ref SmcccCall c)
    {
        ulong tx = c.Arg(1), rx = c.Arg(2);
        uint w3 = (uint)c.X3;
        int pages = (int)(w3 & FfaAbi.RxTxPageCountMask);
        ulong size = (ulong)pages * FfaAbi.PageSize;
        if ((w3 & ~FfaAbi.RxTxPageCountMask) != 0 || pages == 0 || pages > limits.MaxBufferPages || ((tx | rx) & (FfaAbi.PageSize - 1)) != 0
            || (tx < rx + size && rx < tx + size) || !ram.IsOwnRam(tx, size) || !ram.IsOwnRam(rx, size))
        {
            Error(ref c, FfaAbi.InvalidParameters);
            return;
        }
        if (guestPages != 0)
        {
            Error(ref c, FfaAbi.Denied);
            return;
        }
        guestTx = tx;
        guestRx = rx;
        guestPages = pages;
        guestRxHeld = false;
        Success(ref c);
    }

    /// <summary>FFA_RXTX_UNMAP: w1[31:16] names nobody (0) or the domain itself.</summary>
    private void RxTxUnmap(ref SmcccCall c)
    {
        uint named = (uint)c.X1 >> 16;
        if ((named != 0 && named != endpoint) || guestPages == 0)
        {
            Error(ref c, FfaAbi.InvalidParameters);
            return;
        }
        guestPages = 0;
        guestTx = guestRx = 0;
        guestRxHeld = false;
        Success(ref c);
    }

    private void RxRelease(ref SmcccCall c)
    {
        if (!guestRxHeld)
        {
            Error(ref c, FfaAbi.Denied);
            return;
        }
        guestRxHeld = false;
        Success(ref c);
    }

    /// <summary>
    /// FFA_PARTITION_INFO_GET: the SPMC writes the descriptors to the shadow RX, the mediator copies them to the
    /// guest's RX buffer, which then belongs to the guest until its FFA_RX_RELEASE; the shadow goes back at once.
    /// </summary>
    private void PartitionInfoGet(ref SmcccCall c)
    {
        bool countOnly = ((uint)c.X5 & FfaAbi.PartitionInfoCountOnly) != 0;
        if (!countOnly && (guestPages == 0 || guestRxHeld))
        {
            Error(ref c, guestPages == 0 ? FfaAbi.Denied : FfaAbi.Busy);
            return;
        }
        var info = Secure(FfaAbi.PartitionInfoGet, (uint)c.X1, (uint)c.X2, (uint)c.X3, (uint)c.X4, (uint)c.X5);
        if (!Succeeded(info) || countOnly)
        {
            Return(ref c, in info);
            return;
        }
        ulong bytes = (ulong)(uint)info.A2 * (uint)info.A3;
        int status = bytes > (ulong)guestPages * FfaAbi.PageSize || bytes > (ulong)ShadowSize ? FfaAbi.NoMemory
            : !WriteGuest(guestRx, ShadowRx[..(int)bytes]) ? FfaAbi.Aborted
            : 0;
        Secure(FfaAbi.RxRelease);
        if (status != 0)
        {
            Error(ref c, status);
            return;
        }
        guestRxHeld = true;
        Success(ref c, (uint)info.A2, (uint)info.A3);
    }
}
