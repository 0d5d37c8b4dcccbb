namespace Jit.SecureWorld;

/// <summary>Return codes shared by SMCCC services (DEN0028 7.1).</summary>
public static class SmcccStatus
{
    public const long Success = 0;
    public const long NotSupported = -1;
    public const long NotRequired = -2;
    public const long InvalidParameter = -3;
}
