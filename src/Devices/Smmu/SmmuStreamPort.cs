using Jit.Runtime;
using Jit.Runtime.Memory;

namespace Jit.Devices.Smmu;

/// <summary>
/// One stream's DMA through the SMMU. An access is split at 4 KiB boundaries and every page is translated before
/// any byte moves, so an access that faults anywhere touches no memory (the fault is recorded as an event). The
/// pages' output addresses must be the domain's memory (the hypervisor's stage 2: <see cref="SmmuV3.CheckOutput"/>), and are then read or written, contiguous ones in one piece: an aligned 2, 4 or 8-byte
/// access stays single-copy atomic. An access that wraps around the top of the address space is refused.
/// </summary>
internal sealed class SmmuStreamPort(SmmuV3 smmu, uint streamId, uint substreamId) : IDmaPort
{
    // Output addresses of this many pages are kept on the stack between the two passes; longer accesses translate twice.
    private const int RememberedPages = 64;
    private const ulong PageMask = 0xFFF;

    public GuestMemoryStatus Read(ulong address, Span<byte> destination)
    {
        if (destination.Length == 0) return GuestMemoryStatus.Ok;
        if (!PageOf(address, destination.Length, out int pages)) return GuestMemoryStatus.NotMapped;
        Span<ulong> outputs = stackalloc ulong[Math.Min(pages, RememberedPages)];
        var status = TranslateAll(address, pages, write: false, outputs);
        if (status != GuestMemoryStatus.Ok) return status;
        var memory = smmu.PhysicalSide;
        int done = 0;
        while (done < destination.Length)
        {
            status = Contiguous(address, done, destination.Length, write: false, outputs, out ulong output, out int length);
            if (status != GuestMemoryStatus.Ok) return status;
            status = memory.Read(output, destination.Slice(done, length));
            if (status != GuestMemoryStatus.Ok) return status;
            done += length;
        }
        return GuestMemoryStatus.Ok;
    }

    public GuestMemoryStatus Write(ulong address, ReadOnlySpan<byte> source)
    {
        if (source.Length == 0) return GuestMemoryStatus.Ok;
        if (!PageOf(address, source.Length, out int pages)) return GuestMemoryStatus.NotMapped;
        Span<ulong> outputs = stackalloc ulong[Math.Min(pages, RememberedPages)];
        var status = TranslateAll(address, pages, write: true, outputs);
        if (status != GuestMemoryStatus.Ok) return status;
        var memory = smmu.PhysicalSide;
        int done = 0;
        while (done < source.Length)
        {
            status = Contiguous(address, done, source.Length, write: true, outputs, out ulong output, out int length);
            if (status != GuestMemoryStatus.Ok) return status;
            status = memory.Write(output, source.Slice(done, length));
            if (status != GuestMemoryStatus.Ok) return status;
            done += length;
        }
        return GuestMemoryStatus.Ok;
    }

    private static bool PageOf(ulong address, int length, out int pages)
    {
        pages = 0;
        ulong last = address + (ulong)(length - 1);
        if (last < address) return false;
        pages = (int)((last >> 12) - (address >> 12) + 1);
        return true;
    }

    private GuestMemoryStatus TranslateAll(ulong address, int pages, bool write, Span<ulong> outputs)
    {
        ulong page = address & ~PageMask;
        for (int i = 0; i < pages; i++, page += 0x1000)
        {
            ulong input = i == 0 ? address : page;
            var status = smmu.Translate(streamId, substreamId, input, write, out ulong output);
            if (status == GuestMemoryStatus.Ok) status = smmu.CheckOutput(streamId, substreamId, input, output, write);
            if (status != GuestMemoryStatus.Ok) return status;
            if (i < outputs.Length) outputs[i] = output & ~PageMask;
        }
        return GuestMemoryStatus.Ok;
    }

    /// <summary>The longest run from byte <paramref name="done"/> whose pages are contiguous in the output address space.</summary>
    private GuestMemoryStatus Contiguous(ulong address, int done, int total, bool write, Span<ulong> outputs, out ulong output, out int length)
    {
        ulong at = address + (ulong)done;
        var status = PageOutput(address, at, write, outputs, out ulong pageOutput);
        output = pageOutput | (at & PageMask);
        length = (int)Math.Min((ulong)(total - done), 0x1000 - (at & PageMask));
        if (status != GuestMemoryStatus.Ok) return status;
        while (done + length < total)
        {
            ulong next = address + (ulong)(done + length);
            status = PageOutput(address, next, write, outputs, out ulong nextOutput);
            if (status != GuestMemoryStatus.Ok) return status;
            if (nextOutput != pageOutput + 0x1000) break;
            pageOutput = nextOutput;
            length += (int)Math.Min((ulong)(total - done - length), 0x1000);
        }
        return GuestMemoryStatus.Ok;
    }

    private GuestMemoryStatus PageOutput(ulong address, ulong at, bool write, Span<ulong> outputs, out ulong pageOutput)
    {
        int index = (int)((at >> 12) - (address >> 12));
        if (index < outputs.Length)
        {
            pageOutput = outputs[index];
            return GuestMemoryStatus.Ok;
        }
        // Beyond what the first pass kept: translate again (a TLB hit unless an invalidation came in between).
        var status = smmu.Translate(streamId, substreamId, at, write, out ulong output);
        if (status == GuestMemoryStatus.Ok) status = smmu.CheckOutput(streamId, substreamId, at, output, write);
        pageOutput = output & ~PageMask;
        return status;
    }
}

/// <summary>
/// MSIs from a PCI host bridge's functions, translated by the SMMU stream of their DeviceID (requester ID =
/// StreamID) before they reach the target: a DMA write like any other, so a device can only ring a doorbell its
/// stream maps. An MSI the target does not decode is written to memory; one that faults is dropped and recorded.
/// </summary>
internal sealed class SmmuMsiRemapper(SmmuV3 smmu, IMsiSink target, IGuestMemory memory) : IMsiSink
{
    public bool Deliver(ulong address, uint data, uint deviceId)
    {
        if ((address & 0xFFF) > 0xFFC)
        {
            Log.Once("smmu-msi-straddle", $"SMMUv3: MSI from device {deviceId} at 0x{address:x} crosses a page: dropped");
            return false;
        }
        if (smmu.Translate(deviceId, SmmuV3.NoSubstream, address, write: true, out ulong output) != GuestMemoryStatus.Ok) return false;
        if (target.Deliver(output, data, deviceId)) return true;
        return smmu.CheckOutput(deviceId, SmmuV3.NoSubstream, address, output, write: true) == GuestMemoryStatus.Ok
            && memory.WriteUInt32(output, data) == GuestMemoryStatus.Ok;
    }
}
