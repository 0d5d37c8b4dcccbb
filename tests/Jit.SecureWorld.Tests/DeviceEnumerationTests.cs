using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.SecureWorld.Tests;

public class DeviceEnumerationTests
{
    [Fact]
    public void Linux_enumeration_finds_the_RNG_TA_so_optee_rng_binds()
    {
        var machine = new TestMachine();
        var guest = machine.Guest(0);
        // optee_enumerate_devices: open the PTA as a kernel client, ask with a null buffer, then with one of that size.
        var open = guest.OpenSession(DeviceEnumerationPta.TaUuid, OpteeMsg.LoginReeKernel);
        Assert.Equal(TeeResult.Success, open.Ret);
        var size = guest.Invoke(open.Session, DeviceEnumerationPta.CmdGetDevices,
            Param.Tmem(OpteeMsg.AttrTypeTmemOutput, 0, 0), Param.None, Param.None, Param.None);
        Assert.Equal(TeeResult.ErrorShortBuffer, size.Ret);
        Assert.Equal(16ul, size.Params[0].B);

        var shm = guest.Register((int)size.Params[0].B);
        var list = guest.Invoke(open.Session, DeviceEnumerationPta.CmdGetDevices,
            Param.Out(shm, 0, (int)size.Params[0].B), Param.None, Param.None, Param.None);
        Assert.Equal(TeeResult.Success, list.Ret);
        Assert.Equal(RngTa.TaUuid, new Guid(shm.Read(0, 16), bigEndian: true));

        var supplicant = guest.Invoke(open.Session, DeviceEnumerationPta.CmdGetDevicesSupp,
            Param.Tmem(OpteeMsg.AttrTypeTmemOutput, 0, 0), Param.None, Param.None, Param.None);
        Assert.Equal((TeeResult.Success, 0ul), (supplicant.Ret, supplicant.Params[0].B));
        Assert.Equal(TeeResult.Success, guest.CloseSession(open.Session).Ret);
    }

    [Fact]
    public void A_null_buffer_with_a_size_is_refused()
    {
        var machine = new TestMachine();
        var guest = machine.Guest(0);
        var open = guest.OpenSession(DeviceEnumerationPta.TaUuid, OpteeMsg.LoginReeKernel);
        var r = guest.Invoke(open.Session, DeviceEnumerationPta.CmdGetDevices, Param.Tmem(OpteeMsg.AttrTypeTmemOutput, 0, 32));
        Assert.Equal((TeeResult.ErrorBadParameters, TeeResult.OriginTee), (r.Ret, r.Origin));
    }
}
