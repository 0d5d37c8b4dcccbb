using Jit.SecureWorld.Sip;

namespace Jit.SecureWorld.Tests;

public class PlatformFirmwareTests
{
    private readonly TestMachine machine = new();

    private SecureCall Sip(uint fid, ulong a1 = 0, ulong a2 = 0)
    {
        // SiP calls reach the monitor only from the control domain; the firmware does not care who it is.
        var call = new SecureCall(fid, SecureCall.ClientIdForDomain(0)) { A1 = a1, A2 = a2 };
        machine.Monitor.Smc(ref call);
        return call;
    }

    [Fact]
    public void General_queries_answer_count_uid_and_revision()
    {
        Assert.Equal(4u, (uint)Sip(PlatformFirmware.CallCount).A0);
        var uid = Sip(PlatformFirmware.CallUid);
        // DEN0028: UUID byte 0 in bits [7:0] of W0.
        Assert.Equal(0xc54ccec5u, (uint)uid.A0);
        Assert.Equal(0xa3491f44u, (uint)uid.A1);
        var revision = Sip(PlatformFirmware.CallRevision);
        Assert.Equal((1u, 0u), ((uint)revision.A0, (uint)revision.A1));
    }

    [Fact]
    public void SoC_ID_answers_version_and_revision_and_refuses_other_types()
    {
        Assert.Equal(PlatformFirmware.SocVersion, (uint)Sip(PlatformFirmware.SocId, PlatformFirmware.SocIdVersion).A0);
        Assert.Equal(PlatformFirmware.SocRevision, (uint)Sip(PlatformFirmware.SocId, PlatformFirmware.SocIdRevision).A0);
        Assert.Equal(SmcccStatus.InvalidParameter, (long)Sip(PlatformFirmware.SocId, 2).A0);
    }

    [Fact]
    public void A_clock_is_gated_and_ungated_and_unknown_clocks_or_states_are_invalid()
    {
        Assert.Equal(SmcccStatus.Success, (long)Sip(PlatformFirmware.ClockSet, 3, 0).A0);
        var state = Sip(PlatformFirmware.ClockGet, 3);
        Assert.Equal((0u, 0u, 400_000_000u), ((uint)state.A0, (uint)state.A1, (uint)state.A2));
        Assert.False(machine.Monitor.Firmware.Clocks[3].Running);
        Assert.Equal(SmcccStatus.Success, (long)Sip(PlatformFirmware.ClockSet, 3, 1).A0);
        Assert.Equal(1u, (uint)Sip(PlatformFirmware.ClockGet, 3).A1);

        Assert.Equal(SmcccStatus.InvalidParameter, (long)Sip(PlatformFirmware.ClockSet, 99, 1).A0);
        Assert.Equal(SmcccStatus.InvalidParameter, (long)Sip(PlatformFirmware.ClockSet, 3, 2).A0);
        Assert.Equal(SmcccStatus.InvalidParameter, (long)Sip(PlatformFirmware.ClockGet, 0xFFFF_FFFF).A0);
        // SMC32: the upper half of X1 is not part of the argument.
        Assert.Equal(SmcccStatus.Success, (long)Sip(PlatformFirmware.ClockSet, 0xFFFF_FFFF_0000_0003, 1).A0);
    }

    [Fact]
    public void A_device_reset_is_counted_and_unknown_devices_or_actions_are_invalid()
    {
        var device = machine.Monitor.Firmware.Devices[2];
        Assert.Equal(SmcccStatus.Success, (long)Sip(PlatformFirmware.DeviceReset, 2, (ulong)PlatformFirmware.ResetAction.Assert).A0);
        Assert.True(device.InReset);
        Assert.Equal(SmcccStatus.Success, (long)Sip(PlatformFirmware.DeviceReset, 2, (ulong)PlatformFirmware.ResetAction.Deassert).A0);
        Assert.Equal(SmcccStatus.Success, (long)Sip(PlatformFirmware.DeviceReset, 2, (ulong)PlatformFirmware.ResetAction.Pulse).A0);
        Assert.False(device.InReset);
        Assert.Equal(2, device.Resets);

        Assert.Equal(SmcccStatus.InvalidParameter, (long)Sip(PlatformFirmware.DeviceReset, 4, 2).A0);
        Assert.Equal(SmcccStatus.InvalidParameter, (long)Sip(PlatformFirmware.DeviceReset, 1, 3).A0);
    }

    [Fact]
    public void Other_SiP_functions_and_the_SMC64_forms_are_not_supported()
    {
        Assert.Equal(SmcccStatus.NotSupported, (long)Sip(0x8200_0005).A0);
        Assert.Equal(SmcccStatus.NotSupported, (long)Sip(0xC200_0001).A0);
        Assert.Equal(SmcccStatus.NotSupported, (long)Sip(0x8201_0001).A0);
    }
}
