using System.Globalization;

namespace Jit.Hypervisor.Pci;

/// <summary>
/// A PCI function's address as xl and lspci write it (xl-pci-configuration(5)): <c>[DDDD:]BB:SS.F</c> in
/// hexadecimal, segment (PCI domain) 0 when left out. Printed in full, <c>0000:01:00.0</c>.
/// </summary>
public readonly record struct PciAddress(int Segment, int Bus, int Device, int Function)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Segment:x4}:{Bus:x2}:{Device:x2}.{Function:x1}");

    /// <summary>Parses <c>[DDDD:]BB:SS.F</c>; a problem is returned as text.</summary>
    public static bool TryParse(string text, out PciAddress address, out string problem)
    {
        address = default;
        problem = $"\"{text}\" is not a PCI address [DDDD:]BB:SS.F (hexadecimal, e.g. 01:00.0)";
        string[] colon = text.Split(':');
        if (colon.Length is not (2 or 3)) return false;
        string[] dot = colon[^1].Split('.');
        if (dot.Length != 2) return false;
        int segment = 0;
        if (colon.Length == 3 && !Hex(colon[0], 4, 0xFFFF, out segment)) return false;
        if (!Hex(colon[^2], 2, 0xFF, out int bus) || !Hex(dot[0], 2, 0x1F, out int device) || !Hex(dot[1], 1, 7, out int function))
            return false;
        address = new PciAddress(segment, bus, device, function);
        problem = "";
        return true;
    }

    private static bool Hex(string text, int maxDigits, int max, out int value)
    {
        value = 0;
        return text.Length is > 0 && text.Length <= maxDigits
            && int.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value <= max;
    }
}
