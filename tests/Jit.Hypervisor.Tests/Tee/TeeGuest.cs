using System.Buffers.Binary;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Smccc;
using Jit.Hypervisor.Tee;
using Jit.SecureWorld;
using Jit.SecureWorld.Optee;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>A domain with 16 MiB of RAM at 0x40000000 on a shared host machine, its TEE calls going to the OP-TEE (or FF-A) mediator.</summary>
public sealed class TeeGuest : IDisposable
{
    public const ulong RamBase = 0x4000_0000;
    public const ulong RamSize = 16 << 20;

    public TeeGuest(HostMachine machine, int domid, TeeKind tee = TeeKind.Optee)
    {
        Domain = new Domain($"guest{domid}", domid: domid) { HostMachine = machine };
        Domain.Memory.AddRam(RamBase, RamSize);
        Domain.Smccc.Policy = SmcccPolicy.Create(controlDomain: domid == 0, tee: tee == TeeKind.Optee);
        _ = Domain.MachineRam;
        Domain.AttachTee(tee);
        Pages = new GuestPages(RamBase + (1 << 20), RamBase + RamSize);
        Driver = new GuestOpteeDriver(this);
        Ffa = new GuestFfaDriver(this);
    }

    public Domain Domain { get; }
    public GuestPages Pages { get; }
    public GuestOpteeDriver Driver { get; }
    public GuestFfaDriver Ffa { get; }
    public OpteeMediator Mediator => (OpteeMediator)Domain.Tee!;
    public FfaMediator FfaMediator => (FfaMediator)Domain.Tee!;
    public uint ClientId => SecureCall.ClientIdForDomain(Domain.DomId);

    public void Write(ulong ipa, ReadOnlySpan<byte> data) => Domain.Memory.Write(ipa, data);

    public byte[] Read(ulong ipa, int length)
    {
        var bytes = new byte[length];
        Domain.Memory.Read(ipa, bytes);
        return bytes;
    }

    public void Write64(ulong ipa, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        Write(ipa, b);
    }

    /// <summary>An SMC as the guest's vCPU 0 makes it, with garbage in a7 that the mediator must replace.</summary>
    public SmcccCall Smc(uint fid, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0, ulong a6 = 0)
    {
        var call = new SmcccCall
        {
            X0 = fid, X1 = a1, X2 = a2, X3 = a3, X4 = a4, X5 = a5, X6 = a6, X7 = 0xDEAD_BEEF,
            DomId = Domain.DomId, Conduit = SmcccConduit.Smc,
        };
        Domain.Smccc.Dispatch(ref call);
        return call;
    }

    public void Dispose() => Domain.Dispose();
}

/// <summary>Hands out 4 KiB pages of a guest's RAM, contiguous or scattered, by IPA.</summary>
public sealed class GuestPages(ulong start, ulong end)
{
    public const int PageSize = 4096;
    private ulong next = start;

    public ulong Contiguous(int bytes)
    {
        ulong pages = (ulong)Math.Max(1, (bytes + PageSize - 1) / PageSize);
        ulong at = next;
        next += pages * PageSize;
        if (next > end) throw new InvalidOperationException("test guest out of pages");
        return at;
    }

    /// <summary><paramref name="count"/> pages neither adjacent nor in order, as a kernel's allocator may give them.</summary>
    public ulong[] Scattered(int count)
    {
        ulong block = Contiguous(2 * count * PageSize);
        return Enumerable.Range(0, count).Select(i => block + (ulong)(2 * (count - i) - 1) * PageSize).ToArray();
    }
}
