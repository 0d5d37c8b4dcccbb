using Jit.SecureWorld.Optee;

namespace Jit.SecureWorld.TrustedApplications;

/// <summary>
/// The device-enumeration pseudo TA (OP-TEE's core/pta/device.c) that Linux's optee driver opens at probe:
/// PTA_CMD_GET_DEVICES returns the UUIDs of the TAs Linux should create TEE-bus devices for (optee-rng binds to
/// the RNG TA's), PTA_CMD_GET_DEVICES_SUPP those that need tee-supplicant running first (none here). Linux asks
/// first with a null buffer, gets TEE_ERROR_SHORT_BUFFER and the size, then asks again with a buffer.
/// </summary>
public sealed class DeviceEnumerationPta : ITrustedApplication
{
    public static readonly Guid TaUuid = new("7011a688-ddde-4053-a5a9-7b3c4ddf13b8");

    public const uint CmdGetDevices = 0x0;
    public const uint CmdGetDevicesSupp = 0x1;

    private const int UuidSize = 16;

    private readonly Guid[] devices;

    public DeviceEnumerationPta(IEnumerable<ITrustedApplication> applications) =>
        devices = applications.Where(ta => ta.IsDevice).Select(ta => ta.Uuid).ToArray();

    public Guid Uuid => TaUuid;
    public string Name => "device.pta";
    public bool IsDevice => false;

    public TaReturn OpenSession(TaInvocation call) => TeeResult.Success;

    public TaReturn Invoke(TaInvocation call) => call.Command switch
    {
        CmdGetDevices => List(call, devices),
        CmdGetDevicesSupp => List(call, []),
        _ => TeeResult.ErrorNotImplemented,
    };

    private static uint List(TaInvocation call, ReadOnlySpan<Guid> uuids)
    {
        var p = call.Params;
        if (p[0].Type != TaParamType.MemrefOutput || p[1].Type != TaParamType.None || p[2].Type != TaParamType.None
            || p[3].Type != TaParamType.None)
            return TeeResult.ErrorBadParameters;
        ulong needed = (ulong)(uuids.Length * UuidSize);
        if (p[0].Buffer.IsNull && p[0].Size > 0) return TeeResult.ErrorBadParameters;
        ulong room = p[0].Size;
        p[0].Size = needed;
        if (room < needed) return TeeResult.ErrorShortBuffer;
        Span<byte> octets = stackalloc byte[UuidSize];
        for (int i = 0; i < uuids.Length; i++)
        {
            // uuid_t as Linux reads it: the 16 octets in the order the UUID is written.
            uuids[i].TryWriteBytes(octets, bigEndian: true, out _);
            if (!p[0].Buffer.Write((ulong)(i * UuidSize), octets)) return TeeResult.ErrorBadParameters;
        }
        return TeeResult.Success;
    }

    public void CloseSession(object? session) { }
}
