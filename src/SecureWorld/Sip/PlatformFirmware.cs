using Jit.Runtime;

namespace Jit.SecureWorld.Sip;

/// <summary>
/// The Silicon Provider's platform-firmware service (SMCCC owner 2) of our modelled SoC: its identity, clock
/// gates and device resets, the kind of calls a control domain makes to firmware it does not own. The calls and
/// their numbers are of our own invention, shaped like a vendor's: SMC32 fast calls, SMCCC status codes, every
/// argument checked here whoever forwarded the call.
/// </summary>
public sealed class PlatformFirmware
{
    // DEN0028 6.2: the General Service Queries at the top of every owner's range.
    public const uint CallCount = 0x8200_FF00, CallUid = 0x8200_FF01, CallRevision = 0x8200_FF03;

    /// <summary>a1 = 0: the SoC version (JEP-106 bank and code, SoC ID), a1 = 1: the SoC revision; as SMCCC_ARCH_SOC_ID.</summary>
    public const uint SocId = 0x8200_0001;
    /// <summary>a1 = clock ID, a2 = 1 to ungate it, 0 to gate it.</summary>
    public const uint ClockSet = 0x8200_0002;
    /// <summary>a1 = clock ID; returns a1 = 1 if running, a2 = its rate in Hz.</summary>
    public const uint ClockGet = 0x8200_0003;
    /// <summary>a1 = device ID, a2 = one of <see cref="ResetAction"/>.</summary>
    public const uint DeviceReset = 0x8200_0004;

    private const uint FunctionCount = 4;

    public const uint SocIdVersion = 0, SocIdRevision = 1;

    /// <summary>
    /// Our own values in SMCCC_ARCH_SOC_ID's layout: bits [30:24] JEP-106 bank index, [23:16] JEP-106 code,
    /// [15:0] the SoC ID. No real vendor is meant.
    /// </summary>
    public const uint SocVersion = (0x0B << 24) | (0x4A << 16) | 0x0A64;
    public const uint SocRevision = 0x0001;

    /// <summary>This service's UID, c5ce4cc5-441f-49a3-aae6-6e3ce9c52728, in W0–W3 as DEN0028 6.2.2 orders UUID bytes.</summary>
    public static readonly Guid Uid = new("c5ce4cc5-441f-49a3-aae6-6e3ce9c52728");

    public const uint RevisionMajor = 1, RevisionMinor = 0;

    public enum ResetAction : uint
    {
        Deassert = 0,
        Assert = 1,
        /// <summary>Assert then deassert, the usual "reset this block".</summary>
        Pulse = 2,
    }

    /// <summary>One gateable clock of the SoC.</summary>
    public sealed record Clock(uint Id, string Name, uint RateHz)
    {
        public bool Running { get; internal set; } = true;
    }

    /// <summary>One block with a reset line.</summary>
    public sealed record Device(uint Id, string Name)
    {
        public bool InReset { get; internal set; }
        public int Resets { get; internal set; }
    }

    private readonly Clock[] clocks =
    [
        new(0, "uart", 24_000_000),
        new(1, "rtc", 32_768),
        new(2, "crypto", 200_000_000),
        new(3, "video-decoder", 400_000_000),
        new(4, "display", 148_500_000),
    ];

    private readonly Device[] devices =
    [
        new(0, "uart"),
        new(1, "crypto"),
        new(2, "video-decoder"),
        new(3, "display"),
    ];

    private readonly Lock stateLock = new();
    private readonly UnknownCallLog unknown = new("SiP firmware");

    public IReadOnlyList<Clock> Clocks => clocks;
    public IReadOnlyList<Device> Devices => devices;

    public void Smc(ref SecureCall call)
    {
        // Every call here is SMC32: only the W registers carry values.
        uint a1 = (uint)call.A1, a2 = (uint)call.A2;
        switch (call.FunctionId)
        {
            case CallCount:
                call.Return32(FunctionCount);
                return;
            case CallUid:
                Span<byte> uid = stackalloc byte[16];
                Uid.TryWriteBytes(uid, bigEndian: true, out _);
                call.Return32(Word(uid, 0), Word(uid, 4), Word(uid, 8), Word(uid, 12));
                return;
            case CallRevision:
                call.Return32(RevisionMajor, RevisionMinor);
                return;
            case SocId:
                Soc(ref call, a1);
                return;
            case ClockSet:
                SetClock(ref call, a1, a2);
                return;
            case ClockGet:
                GetClock(ref call, a1);
                return;
            case DeviceReset:
                Reset(ref call, a1, a2);
                return;
            default:
                unknown.Report(call.FunctionId, "NOT_SUPPORTED");
                call.ReturnStatus(SmcccStatus.NotSupported);
                return;
        }
    }

    // DEN0028 6.2.2: byte 0 of the UUID in bits [7:0] of W0, byte 4 in bits [7:0] of W1, and so on.
    private static uint Word(ReadOnlySpan<byte> uuid, int at) =>
        (uint)(uuid[at] | uuid[at + 1] << 8 | uuid[at + 2] << 16 | uuid[at + 3] << 24);

    private static void Soc(ref SecureCall call, uint type)
    {
        switch (type)
        {
            case SocIdVersion: call.Return32(SocVersion); break;
            case SocIdRevision: call.Return32(SocRevision); break;
            default: call.ReturnStatus(SmcccStatus.InvalidParameter); break;
        }
    }

    private void SetClock(ref SecureCall call, uint id, uint on)
    {
        if (id >= clocks.Length || on > 1)
        {
            call.ReturnStatus(SmcccStatus.InvalidParameter);
            return;
        }
        lock (stateLock) clocks[id].Running = on == 1;
        call.ReturnStatus(SmcccStatus.Success);
    }

    private void GetClock(ref SecureCall call, uint id)
    {
        if (id >= clocks.Length)
        {
            call.ReturnStatus(SmcccStatus.InvalidParameter);
            return;
        }
        var clock = clocks[id];
        bool running;
        lock (stateLock) running = clock.Running;
        call.Return32(0, running ? 1u : 0u, clock.RateHz);
    }

    private void Reset(ref SecureCall call, uint id, uint action)
    {
        if (id >= devices.Length || action > (uint)ResetAction.Pulse)
        {
            call.ReturnStatus(SmcccStatus.InvalidParameter);
            return;
        }
        var device = devices[id];
        lock (stateLock)
        {
            switch ((ResetAction)action)
            {
                case ResetAction.Assert:
                    device.InReset = true;
                    break;
                case ResetAction.Deassert:
                    if (device.InReset) device.Resets++;
                    device.InReset = false;
                    break;
                case ResetAction.Pulse:
                    device.Resets++;
                    device.InReset = false;
                    break;
            }
        }
        call.ReturnStatus(SmcccStatus.Success);
    }
}
