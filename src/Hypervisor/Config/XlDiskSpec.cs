using Jit.Devices.Storage;
using Jit.Hypervisor.Builder;

namespace Jit.Hypervisor.Config;

/// <summary>
/// One entry of xl.cfg's <c>disk</c> list in xl's disk specification syntax (xl-disk-configuration): comma-
/// separated <c>key=value</c> parameters and positional ones, with <c>target=</c> last since a target may hold
/// commas. Positional parameters are told apart by what they are: a format (<c>raw</c>, <c>qcow2</c>), an
/// access mode (<c>r</c>, <c>ro</c>, <c>w</c>, <c>rw</c>), a virtual device (<c>xvda</c>, <c>sdb</c>,
/// <c>hdc</c>, <c>vda</c>, <c>nvme0n1</c>), else the target; a target may carry xl's legacy prefix
/// (<c>file:</c>, <c>phy:</c>, <c>raw:</c>, <c>qcow2:</c>). <c>specification=virtio</c> (the default here, as
/// Jit has no Xen PV block backend) gives a virtio-pci disk; <c>specification=nvme</c> (ours) an NVMe controller.
/// </summary>
public static class XlDiskSpec
{
    /// <summary>Parses <paramref name="text"/>; a problem is returned as text, naming the part at fault.</summary>
    public static bool TryParse(string text, out (string Target, DiskFormat Format, string? Vdev, bool ReadOnly, DiskInterface Interface) disk, out string problem)
    {
        disk = default;
        string? target = null, vdev = null;
        DiskFormat? format = null;
        bool? readOnly = null;
        var iface = DiskInterface.Virtio;
        string rest = text;
        while (rest.Length > 0)
        {
            string part;
            if (rest.StartsWith("target=", StringComparison.Ordinal))
            {
                part = rest;
                rest = "";
            }
            else
            {
                int comma = rest.IndexOf(',');
                part = (comma < 0 ? rest : rest[..comma]).Trim();
                rest = comma < 0 ? "" : rest[(comma + 1)..].TrimStart();
            }
            if (part.Length == 0) continue;
            int eq = part.IndexOf('=');
            string? key = eq < 0 ? null : part[..eq].Trim();
            string value = eq < 0 ? part : part[(eq + 1)..].Trim();
            switch (key)
            {
                case "target": target = value; break;
                case "format" when ParseFormat(value) is DiskFormat f: format = f; break;
                case "format": problem = $"format={value}: Jit reads raw and qcow2 images"; return false;
                case "vdev": vdev = value; break;
                case "access" when ParseAccess(value) is bool ro: readOnly = ro; break;
                case "access": problem = $"access={value}: the access is r, ro, w or rw"; return false;
                case "specification" or "spec":
                    switch (value)
                    {
                        case "virtio": iface = DiskInterface.Virtio; break;
                        case "nvme": iface = DiskInterface.Nvme; break;
                        case "xen": problem = "specification=xen needs Xen's PV block protocol, which Jit does not offer: use specification=virtio or nvme"; return false;
                        default: problem = $"specification={value}: virtio or nvme"; return false;
                    }
                    break;
                case "devtype" when value == "disk": break;
                case "devtype": problem = $"devtype={value}: only disks (no cdrom) are offered"; return false;
                case "backendtype" or "backend" or "script" or "discard" or "no-discard" or "direct-io-safe" or "trusted" or "untrusted":
                    problem = $"{key}: an xl disk parameter this hypervisor does not support"; return false;
                case null:
                    if (ParseFormat(part) is DiskFormat pf && format is null) format = pf;
                    else if (ParseAccess(part) is bool pa && readOnly is null) readOnly = pa;
                    else if (IsVdev(part) && vdev is null) vdev = part;
                    else if (target is null) target = part;
                    else { problem = $"'{part}': a second target (after '{target}')"; return false; }
                    break;
                default:
                    problem = $"unknown parameter '{key}'"; return false;
            }
        }
        if (target is null || target.Length == 0) { problem = "no target (target=PATH, last)"; return false; }
        // xl's legacy prefixes: file: and phy: say nothing of the format, raw: and qcow2: do.
        foreach (var (prefix, f) in new (string, DiskFormat?)[] { ("file:", null), ("phy:", null), ("raw:", DiskFormat.Raw), ("qcow2:", DiskFormat.Qcow2) })
        {
            if (target.StartsWith(prefix, StringComparison.Ordinal))
            {
                target = target[prefix.Length..];
                format ??= f;
                break;
            }
        }
        if (vdev is null) { problem = "no vdev (the virtual device, e.g. vdev=xvda)"; return false; }
        disk = (target, format ?? DiskFormat.Raw, vdev, readOnly ?? false, iface);
        problem = "";
        return true;
    }

    private static DiskFormat? ParseFormat(string s) => s switch { "raw" => DiskFormat.Raw, "qcow2" => DiskFormat.Qcow2, _ => null };

    private static bool? ParseAccess(string s) => s switch { "r" or "ro" => true, "w" or "rw" => false, _ => null };

    private static bool IsVdev(string s) =>
        System.Text.RegularExpressions.Regex.IsMatch(s, "^((xvd|sd|hd|vd)[a-z]+[0-9]*|d[0-9]+p?[0-9]*|nvme[0-9]+n[0-9]+)$");
}
