using Jit.Devices.Network;
using Jit.Devices.Virtio;

namespace Jit.Hypervisor.Network;

/// <summary>Where a domain's network interface is plugged: a switch of the host by name, or a host TAP device.</summary>
public enum NicBackend
{
    /// <summary>xl's <c>bridge=NAME</c>: the host's software switch NAME, shared by every domain that names it.</summary>
    Switch,
    /// <summary>xl's <c>vifname=NAME</c> without a bridge: the host TAP device NAME (created if absent; needs CAP_NET_ADMIN).</summary>
    Tap,
}

/// <summary>One virtual network interface of a domain: its backend, the switch or TAP name, and its MAC (null: derived).</summary>
public sealed record NicSpec(NicBackend Backend, string? Name = null, byte[]? Mac = null)
{
    /// <summary>The switch a vif joins when its configuration names none, as xl's default bridge is xenbr0.</summary>
    public const string DefaultSwitch = "xenbr0";

    /// <summary>
    /// A MAC in Xen's OUI (00:16:3e), as xl gives a vif without one, but derived from the domain's name and the
    /// vif's index rather than drawn at random: the same configuration gets the same address on every run.
    /// </summary>
    public static byte[] DerivedMac(string domain, int index)
    {
        byte[] hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{domain}/vif{index}"));
        return [0x00, 0x16, 0x3E, (byte)(hash[0] & 0x7F), hash[1], hash[2]];
    }
}

/// <summary>A vif plugged into its backend; disposing it unplugs it (no frame reaches the guest afterwards).</summary>
public sealed class PluggedNic : IDisposable
{
    private readonly Action<FrameReceiver> connect;
    private readonly IDisposable unplug;

    internal PluggedNic(INetworkBackend backend, Action<FrameReceiver> connect, IDisposable unplug, string description)
    {
        Backend = backend;
        this.connect = connect;
        this.unplug = unplug;
        Description = description;
    }

    /// <summary>Where the guest's frames go.</summary>
    public INetworkBackend Backend { get; }

    /// <summary>"switch xenbr0 port vif1.0", "tap jit0".</summary>
    public string Description { get; }

    /// <summary>Starts delivering the backend's frames to the guest's device.</summary>
    public void Connect(FrameReceiver receive) => connect(receive);

    public void Dispose() => unplug.Dispose();
}

/// <summary>
/// The host's networks: software switches by name, created when the first vif names one and kept for the host's
/// life, and TAP devices. One per host (or per <c>jit run</c>), never static.
/// </summary>
public sealed class NetworkFabric : IDisposable
{
    private readonly Dictionary<string, NetworkSwitch> switches = new(StringComparer.Ordinal);
    private bool disposed;

    public IReadOnlyList<NetworkSwitch> Switches { get { lock (switches) return [.. switches.Values]; } }

    /// <summary>Plugs vif <paramref name="index"/> of domain <paramref name="domid"/> into its backend.</summary>
    /// <exception cref="NetworkBackendException">The TAP device cannot be opened; the message names it.</exception>
    public PluggedNic Plug(NicSpec nic, int domid, int index)
    {
        // Xen's backend name for a vif: vifDOMID.DEVID.
        string vif = $"vif{domid}.{index}";
        if (nic.Backend == NicBackend.Tap)
        {
            var tap = new TapBackend(nic.Name, virtioHeaders: true);
            return new PluggedNic(tap, tap.Connect, tap, $"tap {tap.Name}");
        }
        NetworkSwitch sw;
        lock (switches)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            string name = nic.Name ?? NicSpec.DefaultSwitch;
            if (!switches.TryGetValue(name, out sw!)) switches[name] = sw = new NetworkSwitch(name);
        }
        var port = sw.Attach(vif);
        return new PluggedNic(port, port.Connect, port, $"switch {sw.Name} port {vif}");
    }

    public void Dispose()
    {
        lock (switches)
        {
            disposed = true;
            foreach (var s in switches.Values) s.Dispose();
            switches.Clear();
        }
    }
}

/// <summary>MAC addresses as xl.cfg and the command line write them.</summary>
public static class MacAddress
{
    /// <summary><c>00:16:3e:12:34:56</c> (or with dashes) as six bytes; null when malformed or a group address.</summary>
    public static byte[]? Parse(string text)
    {
        string[] parts = text.Split(text.Contains('-') ? '-' : ':');
        if (parts.Length != 6) return null;
        var mac = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            if (parts[i].Length is < 1 or > 2 || !byte.TryParse(parts[i], System.Globalization.NumberStyles.HexNumber, null, out mac[i])) return null;
        }
        // The I/G bit: a station's own address is never a group address.
        return (mac[0] & 1) != 0 ? null : mac;
    }

    public static string Format(ReadOnlySpan<byte> mac) => Convert.ToHexString(mac).ToLowerInvariant() is var h
        ? string.Join(':', Enumerable.Range(0, 6).Select(i => h.Substring(i * 2, 2))) : "";
}
