using System.Runtime.CompilerServices;

namespace Jit.Hypervisor.Smccc;

/// <summary>
/// Which SMCCC calls one domain may make, by owner and function-ID range, over HVC and over SMC: the data the
/// dispatcher checks before any service sees a call. Every domain, the control domain included, is checked the
/// same way; only the data differs.
/// </summary>
/// <remarks>
/// <para>The defaults (<see cref="Create"/> without entries): every domain may call the standard services —
/// arch, std (PSCI, TRNG, …), hyp and vendor-hyp; the control domain (domid 0) the SiP service too; a domain
/// with OP-TEE (<c>tee = "optee"</c>) the Trusted OS and Trusted Applications (tos, tapp). cpu and oem: nobody.
/// FF-A's calls (<c>tee = "ffa"</c>) are the standard secure service's, 0x60–0xFF: permitted like the rest of std,
/// they reach a service only in a domain that has the FF-A mediator, and are NOT_SUPPORTED elsewhere.</para>
/// <para>Entries of <c>smccc_permit</c> (<see cref="SmcccPermit"/>) change owners one at a time: an owner an
/// entry names gets exactly what its entries grant, together, instead of its default; <c>!OWNER</c> names it
/// and grants nothing; owners no entry names keep their default. So <c>["sip:0x82000001"]</c> gives a domU
/// the SoC ID call and the control domain only that of its SiP calls, <c>["smc:sip"]</c> gives SiP over SMC
/// only, <c>["!sip"]</c> takes it from the control domain.</para>
/// <para>Immutable once made, and the check allocates nothing: owners allowed whole are one bit per owner and
/// conduit; owners allowed in part keep their ranges in one flat array.</para>
/// </remarks>
public sealed class SmcccPolicy
{
    // Bit n: every call of owner n is permitted over the conduit.
    private readonly ulong wholeHvc, wholeSmc;
    // [conduit * 64 + owner]: where that owner's permitted ranges sit in bounds (first, last pairs); none: denied.
    private readonly (int Start, int Count)[] ranges;
    private readonly uint[] bounds;

    private SmcccPolicy(ulong wholeHvc, ulong wholeSmc, (int, int)[] ranges, uint[] bounds)
    {
        this.wholeHvc = wholeHvc;
        this.wholeSmc = wholeSmc;
        this.ranges = ranges;
        this.bounds = bounds;
    }

    /// <summary>Every call of every owner over both conduits: a dispatcher's policy until its domain sets one.</summary>
    public static SmcccPolicy PermitAll { get; } = new(ulong.MaxValue, ulong.MaxValue, new (int, int)[128], []);

    /// <summary>
    /// The owner a call is checked as: function-ID bits [29:24], except that every yielding call in
    /// 0x02000000–0x3FFFFFFF is the Trusted OS's (DEN0028 table 6-2), as the dispatcher routes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int OwnerOf(uint fid) =>
        (fid & 0x8000_0000) == 0 && fid - 0x0200_0000 <= 0x3DFF_FFFF ? (int)SmcccOwner.TrustedOs : (int)(fid >> 24) & 0x3F;

    /// <summary>Whether the call <paramref name="fid"/>, of owner <paramref name="owner"/> (<see cref="OwnerOf"/>), may be made over <paramref name="conduit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Permits(SmcccConduit conduit, int owner, uint fid)
    {
        // The common case, a standard service permitted whole (PSCI, the arch calls), is one bit test.
        ulong whole = conduit == SmcccConduit.Hvc ? wholeHvc : wholeSmc;
        return ((whole >> owner) & 1) != 0 || InRange(conduit, owner, fid);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool InRange(SmcccConduit conduit, int owner, uint fid)
    {
        var (start, count) = ranges[((int)conduit << 6) | owner];
        for (int i = start; i < start + 2 * count; i += 2)
            if (fid - bounds[i] <= bounds[i + 1] - bounds[i]) return true;
        return false;
    }

    /// <summary>The policy of a domain: the defaults for its domid and TEE, changed by its <c>smccc_permit</c> entries.</summary>
    /// <param name="controlDomain">Domid 0, which may call the SiP service by default.</param>
    /// <param name="tee">The domain has the OP-TEE mediator (<c>tee = "optee"</c>): the Trusted OS and TAs by default.</param>
    public static SmcccPolicy Create(bool controlDomain, bool tee, IEnumerable<SmcccPermit>? permits = null)
    {
        int owners = SmcccPermit.Owners.Length;
        // Per owner name and conduit (0 HVC, 1 SMC): permitted whole, and the ranges permitted.
        var whole = new bool[owners, 2];
        var granted = new List<(uint, uint)>[owners, 2];
        for (int o = 0; o < owners; o++)
        {
            granted[o, 0] = [];
            granted[o, 1] = [];
            bool byDefault = (SmcccPermitOwner)o switch
            {
                SmcccPermitOwner.Arch or SmcccPermitOwner.Std or SmcccPermitOwner.Hyp or SmcccPermitOwner.VendorHyp => true,
                SmcccPermitOwner.Sip => controlDomain,
                SmcccPermitOwner.Tapp or SmcccPermitOwner.Tos => tee,
                _ => false,
            };
            whole[o, 0] = whole[o, 1] = byDefault;
        }
        var named = new bool[owners];
        foreach (var p in permits ?? [])
        {
            int o = (int)p.Owner;
            if (!named[o])
            {
                named[o] = true;
                whole[o, 0] = whole[o, 1] = false;
            }
            if (p.Deny) continue;
            for (int c = 0; c < 2; c++)
            {
                if (((int)p.Conduits & (1 << c)) == 0) continue;
                if (p.WholeOwner) whole[o, c] = true;
                else granted[o, c].Add((p.First, p.Last));
            }
        }

        ulong wholeHvc = 0, wholeSmc = 0;
        var table = new (int, int)[128];
        var flat = new List<uint>();
        for (int o = 0; o < owners; o++)
        {
            var (_, first, last) = SmcccPermit.Owners[o];
            for (int c = 0; c < 2; c++)
            {
                if (whole[o, c])
                {
                    ulong bits = (ulong.MaxValue >> (63 - last + first)) << first;
                    if (c == 0) wholeHvc |= bits;
                    else wholeSmc |= bits;
                    continue;
                }
                if (granted[o, c].Count == 0) continue;
                int start = flat.Count;
                foreach (var (lo, hi) in granted[o, c]) flat.AddRange([lo, hi]);
                for (int n = first; n <= last; n++) table[(c << 6) | n] = (start, granted[o, c].Count);
            }
        }
        return new SmcccPolicy(wholeHvc, wholeSmc, table, [.. flat]);
    }

    /// <summary>What the policy permits, one owner a line over each conduit, for logs and tests: "hvc: arch std …".</summary>
    public override string ToString()
    {
        var lines = new List<string>();
        foreach (var (conduit, name) in (ReadOnlySpan<(SmcccConduit, string)>)[(SmcccConduit.Hvc, "hvc"), (SmcccConduit.Smc, "smc")])
        {
            ulong whole = conduit == SmcccConduit.Hvc ? wholeHvc : wholeSmc;
            var parts = new List<string>();
            foreach (var (owner, first, _) in SmcccPermit.Owners)
            {
                if (((whole >> first) & 1) != 0) parts.Add(owner);
                else
                {
                    var (start, count) = ranges[((int)conduit << 6) | first];
                    for (int i = start; i < start + 2 * count; i += 2)
                        parts.Add(bounds[i] == bounds[i + 1] ? $"{owner}:0x{bounds[i]:x8}" : $"{owner}:0x{bounds[i]:x8}-0x{bounds[i + 1]:x8}");
                }
            }
            lines.Add($"{name}: {(parts.Count == 0 ? "nothing" : string.Join(' ', parts))}");
        }
        return string.Join('\n', lines);
    }
}
