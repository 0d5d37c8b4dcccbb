using System.Buffers.Binary;
using Jit.SecureWorld.Optee;

namespace Jit.Hypervisor.Tee;

/// <summary>
/// A struct optee_msg_arg (optee_msg.h) in a byte span: the header's fields by name and each parameter's attribute
/// and three 64-bit words (tmem: buf_ptr, size, shm_ref; rmem: offs, size, shm_ref; value: a, b, c).
/// </summary>
internal readonly ref struct OpteeMsgView(Span<byte> bytes)
{
    private readonly Span<byte> bytes = bytes;

    public uint Cmd => U32(0);
    public uint Session { get => U32(8); set => Set32(8, value); }
    public uint Ret { get => U32(20); set => Set32(20, value); }
    public uint RetOrigin { get => U32(24); set => Set32(24, value); }
    public uint NumParams { get => U32(28); set => Set32(28, value); }

    public ulong Attr(int param) => U64(Offset(param));
    public void SetAttr(int param, ulong attr) => Set64(Offset(param), attr);

    public ulong Word(int param, int word) => U64(Offset(param) + 8 + 8 * word);
    public void SetWord(int param, int word, ulong value) => Set64(Offset(param) + 8 + 8 * word, value);

    /// <summary>Sets ret and ret_origin as a result the communication layer (here, the mediator) produced.</summary>
    public void Fail(uint result)
    {
        Ret = result;
        RetOrigin = TeeResult.OriginComms;
    }

    private static int Offset(int param) => OpteeMsg.HeaderSize + OpteeMsg.ParamSize * param;
    private uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
    private void Set32(int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(bytes[at..], v);
    private ulong U64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(bytes[at..]);
    private void Set64(int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(bytes[at..], v);
}
