using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Jit.Hypervisor.Smccc;

/// <summary>The conduits an entry of <c>smccc_permit</c> speaks of.</summary>
[Flags]
public enum SmcccConduits
{
    Hvc = 1,
    Smc = 2,
    Both = Hvc | Smc,
}

/// <summary>The owners <c>smccc_permit</c> names, each one or more SMCCC owner numbers (<see cref="SmcccPermit.Owners"/>).</summary>
public enum SmcccPermitOwner
{
    Arch,
    Cpu,
    Sip,
    Oem,
    Std,
    Hyp,
    VendorHyp,
    Tapp,
    Tos,
}

/// <summary>
/// One entry of a domain's <c>smccc_permit</c> (xl.cfg), parsed: which owner's calls, over which conduits, and
/// either all of them or one range of function IDs; or, with <c>!</c>, none of them.
/// </summary>
/// <remarks>
/// The syntax, one string per entry:
/// <code>
/// ENTRY   = [CONDUIT ":"] OWNER [":" RANGE]  |  "!" OWNER
/// CONDUIT = "smc" | "hvc"                      (left out: both)
/// OWNER   = arch | cpu | sip | oem | std | hyp | vendor-hyp | tapp | tos
/// RANGE   = FID | FID "-" FID                  (function IDs in hex, 0x…, inside OWNER's calls)
/// </code>
/// The owners are DEN0028's (table 6-2): arch = Arm Architecture (0), cpu = CPU Service (1), sip = Silicon
/// Provider (2), oem = OEM (3), std = Standard Secure Service (4: PSCI, SDEI, TRNG, …), hyp = Standard Hypervisor
/// Service (5), vendor-hyp = Vendor Specific Hypervisor Service (6), tapp = Trusted Applications (48–49), tos =
/// Trusted OS (50–63, and the yielding calls 0x02000000–0x3FFFFFFF, which DEN0028 gives the Trusted OS whatever
/// their owner field says). Words are matched without regard to case. How entries combine with the defaults is
/// <see cref="SmcccPolicy"/>'s to say.
/// </remarks>
public sealed record SmcccPermit(string Text, SmcccPermitOwner Owner, SmcccConduits Conduits, uint First, uint Last, bool WholeOwner, bool Deny)
{
    /// <summary>The owner names, in <see cref="SmcccPermitOwner"/> order, each with the owner numbers (function-ID bits [29:24]) it stands for.</summary>
    public static readonly (string Name, int First, int Last)[] Owners =
    [
        ("arch", 0, 0), ("cpu", 1, 1), ("sip", 2, 2), ("oem", 3, 3), ("std", 4, 4), ("hyp", 5, 5), ("vendor-hyp", 6, 6),
        ("tapp", 48, 49), ("tos", 50, 63),
    ];

    public string OwnerName => Owners[(int)Owner].Name;

    /// <summary>How a message lists the owner names.</summary>
    public static string OwnerList => string.Join(", ", Owners[..^1].Select(o => o.Name)) + " or " + Owners[^1].Name;

    /// <summary>Parses one entry; on failure <paramref name="problem"/> says what is wrong, in a phrase for a config error.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out SmcccPermit? permit, out string problem)
    {
        permit = null;
        bool deny = text.StartsWith('!');
        string[] fields = (deny ? text[1..] : text).Split(':');
        int at = 0;
        var conduits = SmcccConduits.Both;
        if (fields.Length > 1 && Conduit(fields[0]) is { } c)
        {
            conduits = c;
            at = 1;
        }
        int owner = FindOwner(fields[at]);
        if (owner < 0)
        {
            problem = fields[at].Length == 0 ? $"no owner: the owners are {OwnerList}"
                : Conduit(fields[at]) is not null && fields.Length == 1 ? $"{fields[at]} alone names no owner: write {fields[at]}:OWNER, OWNER one of {OwnerList}"
                : $"\"{fields[at]}\" is not an owner: {OwnerList}";
            return false;
        }
        at++;
        if (fields.Length > at + 1)
        {
            problem = "too many ':' fields: the form is [smc:|hvc:]OWNER[:RANGE]";
            return false;
        }
        if (deny && (conduits != SmcccConduits.Both || fields.Length > at))
        {
            problem = $"'!' takes an owner alone (\"!{Owners[owner].Name}\"): it takes away all of the owner's calls, over both conduits";
            return false;
        }
        uint first = 0, last = 0;
        bool whole = fields.Length == at;
        if (!whole && !TryRange(fields[at], owner, out first, out last, out problem)) return false;
        permit = new SmcccPermit(text, (SmcccPermitOwner)owner, conduits, first, last, whole, deny);
        problem = "";
        return true;
    }

    private static SmcccConduits? Conduit(string word) =>
        word.Equals("smc", StringComparison.OrdinalIgnoreCase) ? SmcccConduits.Smc
        : word.Equals("hvc", StringComparison.OrdinalIgnoreCase) ? SmcccConduits.Hvc
        : null;

    private static int FindOwner(string word)
    {
        for (int i = 0; i < Owners.Length; i++)
            if (word.Equals(Owners[i].Name, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    /// <summary>FID or FID-FID, every function ID between them the owner's.</summary>
    private static bool TryRange(string text, int owner, out uint first, out uint last, out string problem)
    {
        first = last = 0;
        int dash = text.IndexOf('-');
        string a = dash < 0 ? text : text[..dash], b = dash < 0 ? text : text[(dash + 1)..];
        if (!TryFunctionId(a, out first, out problem) || !TryFunctionId(b, out last, out problem)) return false;
        if (first > last)
        {
            problem = $"the range {a}-{b} is empty: its first function ID is above its last";
            return false;
        }
        var (name, lo, hi) = Owners[owner];
        foreach (uint end in (ReadOnlySpan<uint>)[first, last])
        {
            int its = SmcccPolicy.OwnerOf(end);
            if (its < lo || its > hi)
            {
                problem = $"0x{end:x8} is not a function ID of {name}: its owner is {its} ({SmcccDispatcher.OwnerName(its)})";
                return false;
            }
        }
        // A call's owner is the same across each 16 MiB block of function IDs (SmcccPolicy.OwnerOf), so a range
        // is the owner's when every block it touches is.
        for (uint block = first >> 24; block <= last >> 24; block++)
        {
            int its = SmcccPolicy.OwnerOf(block << 24);
            if (its < lo || its > hi)
            {
                problem = $"the range 0x{first:x8}-0x{last:x8} takes in other owners' calls (0x{block << 24:x8} is owner {its}'s)";
                return false;
            }
        }
        problem = "";
        return true;
    }

    private static bool TryFunctionId(string text, out uint fid, out string problem)
    {
        fid = 0;
        problem = $"\"{text}\" is not a function ID: write it in hex, like 0x82000000";
        if (text.Length < 3 || text.Length > 10 || text[0] != '0' || (text[1] | 0x20) != 'x') return false;
        return uint.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out fid);
    }
}
