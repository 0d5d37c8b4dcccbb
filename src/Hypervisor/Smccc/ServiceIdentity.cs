using Jit.Runtime.Startup;

namespace Jit.Hypervisor.Smccc;

/// <summary>
/// The general queries every SMCCC service answers at function numbers 0xFF00–0xFF03 (DEN0028, 6.2): call count,
/// UID and revision. A UID comes back in W0–W3, each register holding four bytes of the UUID in its textual
/// order, the first byte lowest (Linux compares the vendor hypervisor UID with KVM's that way).
/// </summary>
[CompiledEarly]
public readonly struct ServiceIdentity(Guid uid, uint callCount, uint major, uint minor)
{
    public const int CallCountFunction = 0xFF00, UidFunction = 0xFF01, RevisionFunction = 0xFF03;

    public Guid Uid { get; } = uid;

    /// <summary>Answers the call if it is one of the general queries; false for any other function.</summary>
    public bool TryAnswer(ref SmcccCall call)
    {
        switch (call.Function)
        {
            case CallCountFunction:
                call.Return(callCount);
                return true;
            case UidFunction:
                var (w0, w1, w2, w3) = Words(Uid);
                call.Return(w0, w1, w2, w3);
                return true;
            case RevisionFunction:
                call.Return(major, minor, 0, 0);
                return true;
            default:
                return false;
        }
    }

    /// <summary>The UUID as the four registers carry it.</summary>
    public static (long W0, ulong W1, ulong W2, ulong W3) Words(Guid uuid)
    {
        Span<byte> b = stackalloc byte[16];
        uuid.TryWriteBytes(b, bigEndian: true, out _);
        return (BitConverter.ToUInt32(b[..4]), BitConverter.ToUInt32(b[4..8]), BitConverter.ToUInt32(b[8..12]), BitConverter.ToUInt32(b[12..]));
    }
}
