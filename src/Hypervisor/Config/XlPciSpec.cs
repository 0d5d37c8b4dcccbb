using System.Globalization;
using Jit.Hypervisor.Pci;

namespace Jit.Hypervisor.Config;

/// <summary>
/// One entry of xl.cfg's <c>pci</c> list, or the argument of <c>xl pci-attach</c>, in xl's PCI_SPEC_STRING syntax
/// (xl-pci-configuration(5)): <c>BDF[@VSLOT][,KEY=VALUE…]</c> or <c>bdf=BDF[,vslot=VSLOT]…</c>. Keys here:
/// <c>bdf</c>; <c>vslot</c>, the device number (hexadecimal, 01 to 1f) the domain sees it at on bus 0 of its
/// bridge (the first free one when not given); <c>seize=1</c>, take the device from the control domain if it is
/// not assignable yet. xl's other keys (permissive, msitranslate, power_mgmt, rdm_policy, name) are refused.
/// </summary>
/// <param name="Origin">Where the entry was written, for errors found when the domain is created.</param>
public sealed record XlPciSpec(PciAddress Address, int? VirtualSlot, bool Seize, ConfigOrigin Origin)
{
    public const int FirstSlot = 1, LastSlot = 0x1F;

    public static bool TryParse(string text, ConfigOrigin origin, out XlPciSpec spec, out string problem)
    {
        spec = null!;
        string? bdf = null, vslot = null, seize = null;
        foreach (string raw in text.Split(','))
        {
            string part = raw.Trim();
            if (part.Length == 0) continue;
            int eq = part.IndexOf('=');
            if (eq < 0)
            {
                // The positional parameter: the BDF, with the virtual slot after '@'.
                if (bdf is not null)
                {
                    problem = $"\"{part}\": the BDF is given twice";
                    return false;
                }
                int at = part.IndexOf('@');
                bdf = at < 0 ? part : part[..at];
                if (at >= 0) vslot = part[(at + 1)..];
                continue;
            }
            string key = part[..eq].Trim(), value = part[(eq + 1)..].Trim();
            ref string? slot = ref bdf;
            switch (key)
            {
                case "bdf": break;
                case "vslot": slot = ref vslot; break;
                case "seize": slot = ref seize; break;
                case "permissive" or "msitranslate" or "power_mgmt" or "rdm_policy" or "name":
                    problem = $"{key}= is not supported here (bdf, vslot and seize are)";
                    return false;
                default:
                    problem = $"unknown key \"{key}\" (bdf, vslot and seize are known)";
                    return false;
            }
            if (slot is not null)
            {
                problem = $"{key} is given twice";
                return false;
            }
            slot = value;
        }
        if (bdf is null)
        {
            problem = "no BDF (e.g. \"01:00.0\")";
            return false;
        }
        if (!PciAddress.TryParse(bdf, out var address, out problem)) return false;
        int? virtualSlot = null;
        if (vslot is { Length: > 0 })
        {
            if (!int.TryParse(vslot.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? vslot[2..] : vslot, NumberStyles.AllowHexSpecifier,
                    CultureInfo.InvariantCulture, out int v) || v is < FirstSlot or > LastSlot)
            {
                problem = $"vslot \"{vslot}\" is not a device number from {FirstSlot:x2} to {LastSlot:x2} (hexadecimal)";
                return false;
            }
            virtualSlot = v;
        }
        if (seize is not (null or "" or "0" or "1"))
        {
            problem = $"seize \"{seize}\": expected 0 or 1";
            return false;
        }
        spec = new XlPciSpec(address, virtualSlot, seize == "1", origin);
        problem = "";
        return true;
    }
}
