using Jit.Hypervisor.Network;

namespace Jit.Hypervisor.Config;

/// <summary>
/// One entry of xl.cfg's <c>vif</c> list (xl-network-configuration): comma-separated <c>key=value</c>.
/// <c>bridge=NAME</c> joins the host's software switch NAME; <c>vifname=NAME</c> without a bridge attaches the
/// host TAP device NAME; neither joins switch <c>xenbr0</c>, xl's default bridge. <c>mac=</c> sets the address;
/// <c>model=</c> may only say virtio (the interface is virtio-net on the PCIe bus); <c>type=vif</c> is accepted.
/// </summary>
public static class XlVifSpec
{
    public static bool TryParse(string text, out NicSpec nic, out string problem)
    {
        nic = new NicSpec(NicBackend.Switch);
        string? bridge = null, vifname = null;
        byte[]? mac = null;
        foreach (string raw in text.Split(','))
        {
            string part = raw.Trim();
            if (part.Length == 0) continue;
            int eq = part.IndexOf('=');
            if (eq <= 0) { problem = $"'{part}' is not key=value"; return false; }
            string key = part[..eq].Trim(), value = part[(eq + 1)..].Trim();
            switch (key)
            {
                case "bridge" when value.Length > 0: bridge = value; break;
                case "vifname" when value.Length is > 0 and <= Jit.Devices.Network.TapBackend.MaxNameLength: vifname = value; break;
                case "vifname": problem = $"vifname={value}: a host interface name has 1 to {Jit.Devices.Network.TapBackend.MaxNameLength} characters"; return false;
                case "mac":
                    mac = MacAddress.Parse(value);
                    if (mac is null) { problem = $"mac={value}: six hex bytes separated by colons, not a multicast address"; return false; }
                    break;
                case "model" when value is "virtio" or "virtio-net": break;
                case "model": problem = $"model={value}: the interface is virtio-net (model=virtio)"; return false;
                case "type" when value == "vif": break;
                case "type": problem = $"type={value}: only vif"; return false;
                case "ip" or "script" or "backend" or "rate" or "mtu" or "gatewaydev" or "accel" or "devid" or "forwarddev" or "trusted" or "untrusted":
                    problem = $"{key}: an xl vif parameter this hypervisor does not support"; return false;
                default:
                    problem = $"unknown parameter '{key}'"; return false;
            }
        }
        nic = bridge is not null ? new NicSpec(NicBackend.Switch, bridge, mac)
            : vifname is not null ? new NicSpec(NicBackend.Tap, vifname, mac)
            : new NicSpec(NicBackend.Switch, null, mac);
        problem = "";
        return true;
    }
}
