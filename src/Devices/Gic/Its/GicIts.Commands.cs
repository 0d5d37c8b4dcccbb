using Jit.Runtime.Memory;

namespace Jit.Devices.Gic.Its;

/// <summary>The ITS commands of the GICv3 specification, one method each, every guest-supplied field checked where it is used.</summary>
public sealed partial class GicIts
{
    private const ulong DeviceIttMask = 0x000F_FFFF_FFFF_FF00UL;

    private ItsError Execute(in ItsCommand c) => c.Number switch
    {
        ItsCommand.Mapd => Mapd(c),
        ItsCommand.Mapc => Mapc(c),
        ItsCommand.Mapti => Mapti(c, c.PhysicalId),
        ItsCommand.Mapi => Mapti(c, c.EventId),
        ItsCommand.Movi => Movi(c),
        ItsCommand.Movall => Movall(c),
        ItsCommand.Discard => Discard(c),
        ItsCommand.Int => Int(c),
        ItsCommand.Clear => Clear(c),
        ItsCommand.Inv => Inv(c),
        ItsCommand.Invall => Invall(c),
        ItsCommand.Sync => c.RdBase < (ulong)gic.CpuCount ? ItsError.None : ItsError.TargetOutOfRange,
        _ => ItsError.UnknownCommand,
    };

    private ItsError Mapd(in ItsCommand c)
    {
        if (c.DeviceId >= devices.Capacity) return ItsError.DeviceIdOutOfRange;
        if (c.Valid && c.EventIdBitsMinusOne >= EventIdBits) return ItsError.EventIdOutOfRange;
        ulong entry = c.Valid ? ItsTable.ValidBit | c.IttAddress | (uint)c.EventIdBitsMinusOne : 0;
        return devices.Write(c.DeviceId, entry) ? ItsError.None : ItsError.ItsTableUnwritable;
    }

    private ItsError Mapc(in ItsCommand c)
    {
        if (c.Icid >= collections.Capacity) return ItsError.CollectionIdOutOfRange;
        if (c.Valid && c.RdBase >= (ulong)gic.CpuCount) return ItsError.TargetOutOfRange;
        ulong entry = c.Valid ? ItsTable.ValidBit | c.RdBase : 0;
        return collections.Write(c.Icid, entry) ? ItsError.None : ItsError.ItsTableUnwritable;
    }

    private ItsError Mapti(in ItsCommand c, uint intid)
    {
        var error = FindEvent(c.DeviceId, c.EventId, out ulong at);
        if (error != ItsError.None) return error;
        if (c.Icid >= collections.Capacity) return ItsError.CollectionIdOutOfRange;
        if (intid is < RedistributorLpis.FirstLpi or >= RedistributorLpis.LpiLimit) return ItsError.LpiOutOfRange;
        return WriteEvent(at, ItsTable.ValidBit | (ulong)c.Icid << 32 | intid);
    }

    private ItsError Movi(in ItsCommand c)
    {
        var error = FindEvent(c.DeviceId, c.EventId, out ulong at);
        if (error != ItsError.None) return error;
        if (ReadEvent(at, out ushort icid, out uint intid) is var unmapped && unmapped != ItsError.None) return unmapped;
        if (c.Icid >= collections.Capacity) return ItsError.CollectionIdOutOfRange;
        if (Target(c.Icid, out int to) is var noTarget && noTarget != ItsError.None) return noTarget;
        // Software must have mapped the old collection; if it has not, there is no pending state to move.
        if (Target(icid, out int from) == ItsError.None) gic.MoveLpi(from, to, (int)intid);
        return WriteEvent(at, ItsTable.ValidBit | (ulong)c.Icid << 32 | intid);
    }

    private ItsError Movall(in ItsCommand c)
    {
        if (c.RdBase >= (ulong)gic.CpuCount || c.RdBase2 >= (ulong)gic.CpuCount) return ItsError.TargetOutOfRange;
        gic.MoveAllLpis((int)c.RdBase, (int)c.RdBase2);
        return ItsError.None;
    }

    private ItsError Discard(in ItsCommand c)
    {
        var error = FindEvent(c.DeviceId, c.EventId, out ulong at);
        if (error != ItsError.None) return error;
        if (ReadEvent(at, out ushort icid, out uint intid) is var unmapped && unmapped != ItsError.None) return unmapped;
        if (Target(icid, out int cpu) == ItsError.None) gic.ClearLpiPending(cpu, (int)intid);
        return WriteEvent(at, 0);
    }

    private ItsError Invall(in ItsCommand c)
    {
        if (c.Icid >= collections.Capacity) return ItsError.CollectionIdOutOfRange;
        var error = Target(c.Icid, out int cpu);
        if (error == ItsError.None) gic.InvalidateAllLpis(cpu);
        return error;
    }

    private ItsError Int(in ItsCommand c)
    {
        var error = LookUp(c.DeviceId, c.EventId, out int cpu, out uint intid);
        if (error != ItsError.None) return error;
        return gic.SetLpiPending(cpu, (int)intid) ? ItsError.None : ItsError.RedistributorRefused;
    }

    private ItsError Clear(in ItsCommand c)
    {
        var error = LookUp(c.DeviceId, c.EventId, out int cpu, out uint intid);
        if (error == ItsError.None) gic.ClearLpiPending(cpu, (int)intid);
        return error;
    }

    private ItsError Inv(in ItsCommand c)
    {
        var error = LookUp(c.DeviceId, c.EventId, out int cpu, out uint intid);
        if (error == ItsError.None) gic.InvalidateLpi(cpu, (int)intid);
        return error;
    }

    /// <summary>The ITS's translation: device table → ITT entry → collection table → redistributor.</summary>
    private ItsError LookUp(uint deviceId, uint eventId, out int cpu, out uint intid)
    {
        cpu = 0;
        intid = 0;
        var error = FindEvent(deviceId, eventId, out ulong at);
        if (error != ItsError.None) return error;
        error = ReadEvent(at, out ushort icid, out intid);
        return error != ItsError.None ? error : Target(icid, out cpu);
    }

    /// <summary>Where the ITT entry of (<paramref name="deviceId"/>, <paramref name="eventId"/>) is in guest memory.</summary>
    private ItsError FindEvent(uint deviceId, uint eventId, out ulong at)
    {
        at = 0;
        if (deviceId >= devices.Capacity) return ItsError.DeviceIdOutOfRange;
        ulong entry = devices.Read(deviceId);
        if ((entry & ItsTable.ValidBit) == 0) return ItsError.UnmappedDevice;
        int bits = (int)(entry & 0x1F) + 1;
        if (eventId >= 1UL << bits) return ItsError.EventIdOutOfRange;
        at = (entry & DeviceIttMask) + (ulong)eventId * ItsTable.EntrySize;
        return ItsError.None;
    }

    private ItsError ReadEvent(ulong at, out ushort icid, out uint intid)
    {
        icid = 0;
        intid = 0;
        if (memory.ReadUInt64(at, out ulong entry) != GuestMemoryStatus.Ok || (entry & ItsTable.ValidBit) == 0)
            return ItsError.UnmappedEvent;
        icid = (ushort)(entry >> 32);
        intid = (uint)entry;
        return ItsError.None;
    }

    private ItsError WriteEvent(ulong at, ulong entry) =>
        memory.WriteUInt64(at, entry) == GuestMemoryStatus.Ok ? ItsError.None : ItsError.ItsTableUnwritable;

    /// <summary>The processor collection <paramref name="icid"/> is mapped to, checked against this domain's vCPUs.</summary>
    private ItsError Target(ushort icid, out int cpu)
    {
        cpu = 0;
        if (icid >= collections.Capacity) return ItsError.CollectionIdOutOfRange;
        ulong entry = collections.Read(icid);
        if ((entry & ItsTable.ValidBit) == 0) return ItsError.UnmappedCollection;
        ulong target = entry & 0xFFFF;
        if (target >= (ulong)gic.CpuCount) return ItsError.TargetOutOfRange;
        cpu = (int)target;
        return ItsError.None;
    }
}
