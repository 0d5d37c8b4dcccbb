using System.Runtime.CompilerServices;
using Jit.Hypervisor.Statistics;
using Jit.Runtime;
using Jit.Runtime.Startup;

namespace Jit.Hypervisor.Smccc;

/// <summary>
/// Routes every HVC and SMC of a domain by the owner field of its function ID, and by fast or yielding, to one
/// service, after checking the domain's <see cref="SmcccPolicy"/>; answers calls the policy denies and calls
/// that no service implements with NOT_SUPPORTED (−1), as SMCCC requires of an unknown function ID.
/// </summary>
/// <remarks>
/// The table is filled while the domain is built and only read afterwards. HVC and SMC take the same path: the
/// conduit is a fact the policy may look at, nothing more. The services stay policy-free: a denied call never
/// reaches one. Denied calls are counted per owner in a fixed table (<see cref="Denied"/>, for <c>--stats</c>)
/// and logged once per owner group, naming the first denied function ID.
/// </remarks>
[CompiledEarly]
public sealed class SmcccDispatcher
{
    // Function numbers inside the Standard Secure Service owner (DEN0028 table 6-4): PSCI has 0x00–0x1F.
    private const int PsciFirst = 0x00, PsciLast = 0x1F;
    // ... and the TRNG interface 0x50–0x5F (DEN0098).
    private const int TrngFirst = 0x50, TrngLast = 0x5F;
    // ... and FF-A 0x60–0xFF (DEN0077A), routed to a domain's FF-A mediator when it has one.
    private const int FfaFirst = 0x60, FfaLast = 0xFF;

    private readonly ISmcccService?[] byOwner = new ISmcccService?[64];
    private ISmcccService? psci, trng, ffa;

    /// <summary>Sends calls of <paramref name="owner"/> to <paramref name="service"/>. Use <see cref="RoutePsci"/> for PSCI.</summary>
    public void Route(SmcccOwner owner, ISmcccService service)
    {
        if (owner == SmcccOwner.StandardSecure)
            throw new ArgumentException("the Standard Secure Service is split by range; route PSCI with RoutePsci, the TRNG with RouteTrng and FF-A with RouteFfa");
        byOwner[(int)owner] = service;
    }

    /// <summary>Sends calls of every owner in [<paramref name="first"/>, <paramref name="last"/>] to <paramref name="service"/>.</summary>
    public void Route(SmcccOwner first, SmcccOwner last, ISmcccService service)
    {
        for (int o = (int)first; o <= (int)last; o++) byOwner[o] = service;
    }

    public void RoutePsci(ISmcccService service) => psci = service;

    public void RouteTrng(ISmcccService service) => trng = service;

    public void RouteFfa(ISmcccService service) => ffa = service;

    private SmcccPolicy policy = SmcccPolicy.PermitAll;

    /// <summary>What the domain may call; everything until the domain sets its own. Set before the domain runs.</summary>
    public SmcccPolicy Policy
    {
        get => policy;
        set => policy = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// Called after every call with the request, the results, whether the domain's policy permitted it and the
    /// call's time in <see cref="System.Diagnostics.Stopwatch"/> ticks (<c>jit run --trace smc</c>); null when
    /// nobody traces, and then the fast path pays one test.
    /// </summary>
    public SmcccTrace? Trace { get; set; }

    /// <summary>Handles one call; on return X0–X3 of <paramref name="call"/> hold the results.</summary>
    public SmcccOutcome Dispatch(ref SmcccCall call)
    {
        if (Trace is { } trace)
        {
            var request = call;
            bool permitted = policy.Permits(call.Conduit, SmcccPolicy.OwnerOf(call.FunctionId), call.FunctionId);
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            var traced = DispatchUntraced(ref call);
            long ticks = System.Diagnostics.Stopwatch.GetTimestamp() - start;
            trace(request, call, permitted, ticks);
            return traced;
        }
        return DispatchUntraced(ref call);
    }

    private SmcccOutcome DispatchUntraced(ref SmcccCall call)
    {
        uint fid = call.FunctionId;
        int owner = SmcccPolicy.OwnerOf(fid);
        if (!policy.Permits(call.Conduit, owner, fid)) return Deny(ref call, owner);
        var service = Lookup(in call);
        var outcome = service is null ? SmcccOutcome.Unknown : service.Call(ref call);
        if (outcome == SmcccOutcome.Unknown)
        {
            ReportUnknown(call.FunctionId, service);
            call.Return(SmcccResult.NotSupported);
            return SmcccOutcome.Done;
        }
        return outcome;
    }

    private ISmcccService? Lookup(in SmcccCall call)
    {
        uint fid = call.FunctionId;
        // Yielding calls exist only for Trusted OSes (DEN0028 table 6-2); the rest of that space is reserved.
        if (!call.IsFast)
            return fid >= 0x0200_0000 && fid <= 0x3FFF_FFFF ? byOwner[(int)SmcccOwner.TrustedOs] : null;
        // Bits [23:16] of a fast call must be zero; anything else is not a function we know.
        if ((fid & 0x00FF_0000) != 0) return null;
        int owner = call.Owner;
        if (owner == (int)SmcccOwner.StandardSecure)
            return call.Function switch
            {
                >= PsciFirst and <= PsciLast => psci,
                >= TrngFirst and <= TrngLast => trng,
                >= FfaFirst and <= FfaLast => ffa,
                _ => null,
            };
        return byOwner[owner];
    }

    // Denied calls by SmcccOwners slot (the --stats report's grouping), and whether each report group has been
    // logged: written by every vCPU of the domain, so with interlocked operations; they are off the fast path.
    private readonly ulong[] denied = new ulong[SmcccOwners.Slots];
    private readonly int[] deniedLogged = new int[SmcccOwners.Groups.Length];

    /// <summary>Calls the policy denied, by <see cref="SmcccOwners"/> slot; read racily while the domain runs.</summary>
    public ReadOnlySpan<ulong> Denied => denied;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private SmcccOutcome Deny(ref SmcccCall call, int owner)
    {
        uint fid = call.FunctionId;
        int slot = SmcccOwners.Slot(owner, fid);
        Interlocked.Increment(ref denied[slot]);
        int group = SmcccOwners.GroupOf(slot);
        if (Volatile.Read(ref deniedLogged[group]) == 0 && Interlocked.Exchange(ref deniedLogged[group], 1) == 0)
            ReportDenied(in call, owner);
        call.Return(SmcccResult.NotSupported);
        return SmcccOutcome.Done;
    }

    private static void ReportDenied(in SmcccCall call, int owner)
    {
        // A vCPU thread's log lines already name its domain; any other caller's must say which it is.
        string domain = Log.Context is null ? $"d{call.DomId}: " : "";
        string conduit = call.Conduit == SmcccConduit.Smc ? "SMC" : "HVC";
        Log.Warn($"{domain}SMCCC: {OwnerName(owner)} call 0x{call.FunctionId:x8} ({conduit}, vCPU {call.Vcpu}) is not permitted to this domain " +
            "(smccc_permit); answered NOT_SUPPORTED. Further denied calls of this owner are counted (--stats), not logged");
    }

    // The unknown function IDs this dispatcher has reported: a guest that probes one again and again (Linux asks
    // for the vendor hypervisor UID at every boot, a DRM player's library in a loop) pays one compare on the way
    // to NOT_SUPPORTED, not a string, a dictionary lookup and an allocation per call; one that tries IDs at
    // random gets a bounded number of lines.
    private readonly UnknownCallLog unknown = new("SMCCC", "function ID");

    private void ReportUnknown(uint fid, ISmcccService? service)
    {
        if (unknown.Take(fid)) Report(fid, service);
    }

    private static void Report(uint fid, ISmcccService? service)
    {
        string owner = OwnerName((int)(fid >> 24) & 0x3F);
        Log.Once($"smccc-{fid:x8}", service is null
            ? $"SMCCC: function 0x{fid:x8} ({owner}) has no service; answered NOT_SUPPORTED"
            : $"SMCCC: {service.Name} does not implement function 0x{fid:x8}; answered NOT_SUPPORTED");
    }

    public static string OwnerName(int owner) => owner switch
    {
        0 => "Arm architecture",
        1 => "CPU service",
        2 => "SiP service",
        3 => "OEM service",
        4 => "standard secure service",
        5 => "standard hypervisor service",
        6 => "vendor hypervisor service",
        48 or 49 => "trusted application",
        >= 50 and <= 63 => "trusted OS",
        _ => "reserved owner",
    };
}
