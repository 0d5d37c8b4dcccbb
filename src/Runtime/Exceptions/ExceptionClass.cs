namespace Jit.Runtime.Exceptions;

/// <summary>ESR_ELx.EC values (D17.2.37).</summary>
public static class ExceptionClass
{
    public const uint Unknown = 0x00;
    public const uint Wfx = 0x01;
    public const uint FpAccess = 0x07;
    public const uint IllegalState = 0x0E;
    public const uint Svc64 = 0x15;
    public const uint Hvc64 = 0x16;
    public const uint Smc64 = 0x17;
    public const uint SysReg = 0x18;
    public const uint InstructionAbortLower = 0x20;
    public const uint InstructionAbortSame = 0x21;
    public const uint PcAlignment = 0x22;
    public const uint DataAbortLower = 0x24;
    public const uint DataAbortSame = 0x25;
    public const uint SpAlignment = 0x26;
    public const uint Brk64 = 0x3C;
}

/// <summary>DFSC/IFSC fault status codes (D17.2.40).</summary>
public static class FaultStatus
{
    public const uint AddressSizeLevel0 = 0x00;
    public const uint TranslationLevel0 = 0x04;
    public const uint AccessFlagLevel0 = 0x08;
    public const uint PermissionLevel0 = 0x0C;
    public const uint SynchronousExternal = 0x10;
    public const uint Alignment = 0x21;
}
