namespace Jit.Hypervisor.Smccc;

/// <summary>Which instruction made the call. Both reach the same dispatcher; policy may tell them apart.</summary>
public enum SmcccConduit
{
    Hvc,
    Smc,
}

/// <summary>The owning-entity numbers of function-ID bits [29:24] (SMC Calling Convention, DEN0028, 2.5).</summary>
public enum SmcccOwner
{
    ArmArchitecture = 0,
    Cpu = 1,
    SiP = 2,
    Oem = 3,
    StandardSecure = 4,
    StandardHypervisor = 5,
    VendorHypervisor = 6,
    TrustedApplication = 48,
    TrustedApplicationLast = 49,
    TrustedOs = 50,
    TrustedOsLast = 63,
}

/// <summary>Return codes shared by SMCCC services (DEN0028 and PSCI, DEN0022).</summary>
public static class SmcccResult
{
    public const long Success = 0;
    public const long NotSupported = -1;
    public const long NotRequired = -2;
    public const long InvalidParameter = -3;
}

/// <summary>What a service did with a call.</summary>
/// <summary>One traced call: the request, its results, the policy's verdict and its duration in Stopwatch ticks.</summary>
public delegate void SmcccTrace(SmcccCall request, SmcccCall result, bool permitted, long ticks);

public enum SmcccOutcome
{
    /// <summary>The results are in X0–X3; the guest continues after the instruction.</summary>
    Done,
    /// <summary>The service does not implement this function: the dispatcher answers NOT_SUPPORTED.</summary>
    Unknown,
    /// <summary>The results are set and the calling vCPU must stop running (powered off, domain shut down).</summary>
    StopVcpu,
}

/// <summary>
/// One call as the guest made it: X0 holds the function ID and X1–X7 the arguments on entry; services write
/// results to X0–X3. A plain struct on the caller's stack, so the dispatch path allocates nothing.
/// </summary>
public struct SmcccCall
{
    public ulong X0, X1, X2, X3, X4, X5, X6, X7;

    /// <summary>The calling domain's domid: what per-domain rights and per-domain service state are keyed by.</summary>
    public int DomId;

    /// <summary>Index of the calling vCPU in its domain.</summary>
    public int Vcpu;
    public SmcccConduit Conduit;

    public readonly uint FunctionId => (uint)X0;

    /// <summary>Bit 31: fast call (atomic, returns at once) rather than yielding call.</summary>
    public readonly bool IsFast => (FunctionId & 0x8000_0000) != 0;

    /// <summary>Bit 30: the SMC64/HVC64 convention; otherwise SMC32, where only W registers carry values.</summary>
    public readonly bool Is64 => (FunctionId & 0x4000_0000) != 0;

    public readonly int Owner => (int)(FunctionId >> 24) & 0x3F;

    /// <summary>Bits [15:0]: the function number inside the owner's range.</summary>
    public readonly int Function => (int)(FunctionId & 0xFFFF);

    /// <summary>Argument <paramref name="n"/> (1–7), truncated to 32 bits under SMC32.</summary>
    public readonly ulong Arg(int n)
    {
        ulong v = n switch { 1 => X1, 2 => X2, 3 => X3, 4 => X4, 5 => X5, 6 => X6, _ => X7 };
        return Is64 ? v : (uint)v;
    }

    /// <summary>Sets X0 to <paramref name="value"/>, sign-extended so that W0 and X0 both read as it.</summary>
    public void Return(long value) => X0 = (ulong)value;

    public void Return(long x0, ulong x1, ulong x2, ulong x3)
    {
        X0 = (ulong)x0;
        X1 = x1;
        X2 = x2;
        X3 = x3;
    }
}

/// <summary>One service behind the dispatcher: PSCI, the Arm architecture calls, later the TEE mediator, …</summary>
public interface ISmcccService
{
    string Name { get; }

    SmcccOutcome Call(ref SmcccCall call);
}
