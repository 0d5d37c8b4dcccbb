namespace Jit.Hypervisor.Smccc;

/// <summary>
/// The hypervisor answering for itself (DEN0028 owners 5 and 6): the Standard Hypervisor Service and Jit's
/// Vendor Specific Hypervisor Service each tell their call count, their UID and their revision, and implement
/// nothing else yet. Linux asks for the vendor hypervisor's UID at boot to recognise KVM; Jit's own UID tells
/// it this is not KVM, where NOT_SUPPORTED told it nothing.
/// </summary>
public sealed class HypervisorService(string name, ServiceIdentity identity) : ISmcccService
{
    /// <summary>Jit's UID as a vendor hypervisor; generated once for this project, never to change.</summary>
    public static readonly Guid JitVendorUid = new("6a1b5e0c-3f7d-4c2a-9d84-1e5b7a0c9f31");

    /// <summary>The UID of Jit's Standard Hypervisor Service implementation.</summary>
    public static readonly Guid JitStandardUid = new("c4e2f8a1-58b6-4d0e-b3a7-2f9c6d1e8b54");

    /// <summary>Owner 5.</summary>
    public static HypervisorService Standard() => new("standard hypervisor service", new ServiceIdentity(JitStandardUid, 3, 1, 0));

    /// <summary>Owner 6.</summary>
    public static HypervisorService Vendor() => new("Jit vendor hypervisor service", new ServiceIdentity(JitVendorUid, 3, 1, 0));

    public string Name => name;

    public ServiceIdentity Identity => identity;

    public SmcccOutcome Call(ref SmcccCall call) =>
        identity.TryAnswer(ref call) ? SmcccOutcome.Done : SmcccOutcome.Unknown;
}
