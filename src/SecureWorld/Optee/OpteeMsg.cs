using System.Buffers.Binary;

namespace Jit.SecureWorld.Optee;

/// <summary>The OP-TEE message protocol of optee_msg.h: struct optee_msg_arg and its parameters in shared memory.</summary>
public static class OpteeMsg
{
    public const uint AttrTypeNone = 0x0;
    public const uint AttrTypeValueInput = 0x1, AttrTypeValueOutput = 0x2, AttrTypeValueInout = 0x3;
    /// <summary>Registered memory (a cookie and an offset); FMEM has the same numbers over FF-A.</summary>
    public const uint AttrTypeRmemInput = 0x5, AttrTypeRmemOutput = 0x6, AttrTypeRmemInout = 0x7;
    /// <summary>Temporary memory (an address, or with NONCONTIG the address of a page list).</summary>
    public const uint AttrTypeTmemInput = 0x9, AttrTypeTmemOutput = 0xa, AttrTypeTmemInout = 0xb;
    public const ulong AttrTypeMask = 0xFF;
    /// <summary>A parameter the OS absorbs (the UUIDs and login of OPEN_SESSION); meta parameters come first.</summary>
    public const ulong AttrMeta = 1u << 8;
    /// <summary>buf_ptr is the address of a page list, its low 12 bits the data's offset in the first page.</summary>
    public const ulong AttrNoncontig = 1u << 9;
    public const int AttrCacheShift = 16;
    public const ulong AttrCacheMask = 0x7;
    /// <summary>Every attribute bit this model knows; a parameter with any other is refused.</summary>
    public const ulong AttrKnownBits = AttrTypeMask | AttrMeta | AttrNoncontig | AttrCacheMask << AttrCacheShift;

    public const uint CmdOpenSession = 0, CmdInvokeCommand = 1, CmdCloseSession = 2, CmdCancel = 3;
    public const uint CmdRegisterShm = 4, CmdUnregisterShm = 5, CmdDoBottomHalf = 6, CmdStopAsyncNotif = 7;

    public const uint LoginPublic = 0, LoginUser = 1, LoginGroup = 2, LoginApplication = 4;
    public const uint LoginApplicationUser = 5, LoginApplicationGroup = 6, LoginReeKernel = 0x8000_0000;

    /// <summary>The page size of NONCONTIG page lists: 511 page addresses and the next list page's address.</summary>
    public const int NoncontigPageSize = 4096;
    public const int PageListEntries = NoncontigPageSize / 8 - 1;

    public const int HeaderSize = 32;
    public const int ParamSize = 32;

    /// <summary>OPTEE_MSG_GET_ARG_SIZE.</summary>
    public static int ArgSize(int numParams) => HeaderSize + ParamSize * numParams;

    // Requests the secure world makes of the normal world's driver (optee_rpc_cmd.h).
    public const uint RpcCmdGetTime = 3, RpcCmdNotification = 4, RpcCmdSuspend = 5;
    public const uint RpcCmdShmAlloc = 6, RpcCmdShmFree = 7;
    public const uint RpcShmTypeAppl = 0, RpcShmTypeKernel = 1;
}

/// <summary>
/// A struct optee_msg_arg in a secure copy or a mediator's shadow: the header's fields by name and each parameter's attribute and three
/// 64-bit words (tmem: buf_ptr, size, shm_ref; rmem: offs, size, shm_ref; value: a, b, c). Little-endian, as
/// the normal world laid it out.
/// </summary>
public readonly ref struct MsgArg(Span<byte> bytes)
{
    private readonly Span<byte> bytes = bytes;

    public uint Cmd { get => U32(0); set => Set32(0, value); }
    public uint Func { get => U32(4); set => Set32(4, value); }
    public uint Session { get => U32(8); set => Set32(8, value); }
    public uint CancelId { get => U32(12); set => Set32(12, value); }
    public uint Ret { get => U32(20); set => Set32(20, value); }
    public uint RetOrigin { get => U32(24); set => Set32(24, value); }
    public uint NumParams { get => U32(28); set => Set32(28, value); }

    public ulong Attr(int param) => U64(Offset(param));
    public void SetAttr(int param, ulong attr) => Set64(Offset(param), attr);

    /// <summary>Word 0–2 of the parameter's union.</summary>
    public ulong Word(int param, int word) => U64(Offset(param) + 8 + 8 * word);
    public void SetWord(int param, int word, ulong value) => Set64(Offset(param) + 8 + 8 * word, value);

    /// <summary>The union's 24 bytes, for the UUIDs of the meta parameters.</summary>
    public ReadOnlySpan<byte> Octets(int param) => bytes.Slice(Offset(param) + 8, 24);

    public void Clear(int length) => bytes[..length].Clear();

    /// <summary>Sets ret and ret_origin as a result the communication layer produced (a mediator's refusal).</summary>
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
