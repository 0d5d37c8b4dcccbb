using Jit.Hypervisor.Smccc;
using Jit.SecureWorld.Ffa;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>
/// A guest's FF-A driver, as Linux's arm_ffa driver uses the interface: one RX/TX pair of a page each in the
/// guest's RAM, descriptors written to TX, every call an SMC through the domain's dispatcher.
/// </summary>
public sealed class GuestFfaDriver(TeeGuest g)
{
    private ulong tx, rx;

    public ulong Tx => tx != 0 ? tx : tx = g.Pages.Contiguous(4096);
    public ulong Rx => rx != 0 ? rx : rx = g.Pages.Contiguous(4096);
    public ushort Id => (ushort)(g.Domain.DomId + 1);

    public SmcccCall Call(uint fid, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0, ulong a6 = 0, ulong a7 = 0)
    {
        var call = new SmcccCall
        {
            X0 = fid, X1 = a1, X2 = a2, X3 = a3, X4 = a4, X5 = a5, X6 = a6, X7 = a7,
            DomId = g.Domain.DomId, Conduit = SmcccConduit.Smc,
        };
        g.Domain.Smccc.Dispatch(ref call);
        return call;
    }

    /// <summary>FFA_VERSION 1.1, FFA_RXTX_MAP of the pair, as a driver's probe does.</summary>
    public void Probe()
    {
        Assert.Equal(FfaAbi.Version11, (uint)Call(FfaAbi.Version, FfaAbi.Version11).X0);
        AssertSuccess(Call(FfaAbi.RxTxMap64, Tx, Rx, 1));
    }

    public SmcccCall Direct(uint command, ulong a4 = 0, ulong a5 = 0, ulong a6 = 0, ulong a7 = 0, bool is64 = true, ushort? sender = null,
        ushort receiver = ServicePartition.PartitionId) =>
        Call(is64 ? FfaAbi.MsgSendDirectReq64 : FfaAbi.MsgSendDirectReq32, ((uint)(sender ?? Id) << 16) | receiver, 0, command, a4, a5, a6, a7);

    public SmcccCall WithHandle(uint command, ulong handle, ulong a6 = 0, ulong a7 = 0) => Direct(command, (uint)handle, handle >> 32, a6, a7);

    /// <summary>Writes a share descriptor to TX and sends FFA_MEM_SHARE.</summary>
    public SmcccCall Share(ReadOnlySpan<(ulong, uint)> ranges, byte permissions = FfaMemoryTransaction.DataReadWrite, ushort? sender = null,
        ushort receiver = ServicePartition.PartitionId)
    {
        var descriptor = new byte[4096];
        int length = FfaMemoryTransaction.Build(descriptor, sender ?? Id, [(receiver, permissions)], ranges);
        g.Write(Tx, descriptor.AsSpan(0, length));
        return Call(FfaAbi.MemShare64, (uint)length, (uint)length);
    }

    public SmcccCall Reclaim(ulong handle, uint flags = 0) => Call(FfaAbi.MemReclaim, (uint)handle, handle >> 32, flags);

    public static ulong Handle(in SmcccCall success) => (uint)success.X2 | ((ulong)(uint)success.X3 << 32);

    public static void AssertSuccess(in SmcccCall call) => Assert.True((uint)call.X0 == FfaAbi.Success32, $"x0=0x{call.X0:x} w2={(int)(uint)call.X2}");

    public static void AssertError(int expected, in SmcccCall call)
    {
        Assert.Equal(FfaAbi.Error, (uint)call.X0);
        Assert.Equal(expected, (int)(uint)call.X2);
    }

    /// <summary>The service partition's status in w3 of its response.</summary>
    public static void AssertStatus(int expected, in SmcccCall response)
    {
        Assert.Equal(FfaAbi.MsgSendDirectResp64, (uint)response.X0);
        Assert.Equal(expected, (int)(uint)response.X3);
    }
}
