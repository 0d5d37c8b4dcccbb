using System.Globalization;
using System.Text;

namespace Jit.Hypervisor.Config;

/// <summary>
/// A domain's configuration as <c>xl list -l</c> prints it: a JSON array of <c>{"domid": N, "config": …}</c>, the
/// config being libxl's <c>libxl_domain_config</c> as libxl's generated JSON writer emits it (field names and order
/// from libxl_types.idl, enums as their lower-case names, bitmaps as arrays of set bits, MemKB in KiB, a field left
/// out when it holds its default, <c>"type.pvh": {}</c> for the build-info union) and laid out as yajl's beautifier
/// lays it out (four-space indent, <c>": "</c>, an empty object as <c>{</c>, a blank line, <c>}</c>).
/// Only the fields this configuration has are written. Ours beyond libxl's: <c>b_info.jit_dtb</c>,
/// <c>b_info.jit_smmu</c> (a defbool, written only when not the default), and
/// <c>arch_arm.vuart = "pl011"</c> for the full PL011 (libxl knows only "sbsa_uart"). Paths are the absolute ones
/// the domain was built from.
/// </summary>
public static class XlListJson
{
    /// <summary>
    /// What <c>xl list -l</c> writes for these domains: yajl's buffer, which ends in a newline (xl's puts adds a
    /// second one).
    /// </summary>
    public static string Format(IEnumerable<(int Domid, DomainConfig Config)> domains) =>
        Render(domains.Select(d => (object)Entry(d.Domid, d.Config)).ToList()) + "\n";

    /// <summary>One domain's object, as <c>xl create --dry-run</c> prints it (domid null before creation).</summary>
    public static string FormatOne(int? domid, DomainConfig config) => Render(Entry(domid, config)) + "\n";

    private sealed class JsonObject : List<(string Key, object? Value)>
    {
        public void Add(string key, object? value) => Add((key, value));
    }

    private static JsonObject Entry(int? domid, DomainConfig c)
    {
        var entry = new JsonObject { { "domid", domid is int id ? (long)id : null }, { "config", DomainConfigObject(c) } };
        return entry;
    }

    private static JsonObject DomainConfigObject(DomainConfig c)
    {
        var createInfo = new JsonObject { { "type", c.Type }, { "name", c.Name } };

        var buildInfo = new JsonObject
        {
            { "max_vcpus", (long)c.Vcpus },
            { "avail_vcpus", Bits(Enumerable.Range(0, c.Vcpus)) },
        };
        if (c.CpuAffinity is { } affinity)
            buildInfo.Add("vcpu_hard_affinity", affinity.Select(set => (object?)Bits(set.Cpus)).ToList());
        buildInfo.Add("max_memkb", (long)(c.MaxMemoryMiB * 1024));
        buildInfo.Add("target_memkb", (long)(c.MemoryMiB * 1024));
        buildInfo.Add("kernel", c.Kernel);
        AddIfSet(buildInfo, "cmdline", c.Cmdline);
        AddIfSet(buildInfo, "ramdisk", c.Ramdisk);
        AddIfSet(buildInfo, "device_tree", c.DeviceTree);
        AddIfSet(buildInfo, "jit_dtb", c.JitDtb);
        // As libxl writes a defbool: "True" or "False".
        if (c.Smmu != DomainConfig.DefaultSmmu) buildInfo.Add("jit_smmu", c.Smmu ? "True" : "False");
        if (c.Tee != TeeKind.None) buildInfo.Add("tee", c.Tee == TeeKind.Optee ? "optee" : "ffa");
        buildInfo.Add("type.pvh", new JsonObject());
        buildInfo.Add("arch_arm", new JsonObject
        {
            { "gic_version", "v3" },
            { "vuart", c.Vuart == VuartKind.SbsaUart ? "sbsa_uart" : "pl011" },
        });

        var config = new JsonObject { { "c_info", createInfo }, { "b_info", buildInfo } };
        // libxl's default for every on_* is destroy, and a field at its default is left out.
        foreach (var (key, action) in (ReadOnlySpan<(string, ShutdownAction)>)[("on_poweroff", c.OnPoweroff), ("on_reboot", c.OnReboot), ("on_crash", c.OnCrash)])
            if (action != ShutdownAction.Destroy) config.Add(key, action == ShutdownAction.Restart ? "restart" : "preserve");
        return config;
    }

    private static void AddIfSet(JsonObject o, string key, string? value)
    {
        if (value is not null) o.Add(key, value);
    }

    private static List<object?> Bits(IEnumerable<int> set) => set.Select(b => (object?)(long)b).ToList();

    private static string Render(object? value)
    {
        var b = new StringBuilder();
        Render(b, value, 0);
        return b.ToString();
    }

    private static void Render(StringBuilder b, object? value, int depth)
    {
        switch (value)
        {
            case null: b.Append("null"); break;
            case long n: b.Append(n.ToString(CultureInfo.InvariantCulture)); break;
            case string s: String(b, s); break;
            case JsonObject o:
                b.Append("{\n");
                for (int i = 0; i < o.Count; i++)
                {
                    if (i > 0) b.Append(",\n");
                    Indent(b, depth + 1);
                    String(b, o[i].Key);
                    b.Append(": ");
                    Render(b, o[i].Value, depth + 1);
                }
                b.Append('\n');
                Indent(b, depth);
                b.Append('}');
                break;
            case List<object?> a:
                b.Append("[\n");
                for (int i = 0; i < a.Count; i++)
                {
                    if (i > 0) b.Append(",\n");
                    Indent(b, depth + 1);
                    Render(b, a[i], depth + 1);
                }
                b.Append('\n');
                Indent(b, depth);
                b.Append(']');
                break;
            default: throw new InvalidOperationException($"no JSON form for {value.GetType()}");
        }
    }

    private static void Indent(StringBuilder b, int depth) => b.Append(' ', 4 * depth);

    /// <summary>A JSON string as yajl encodes it: short escapes where JSON has them, \u00XX for other controls.</summary>
    private static void String(StringBuilder b, string s)
    {
        b.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\r': b.Append("\\r"); break;
                case '\t': b.Append("\\t"); break;
                case '\f': b.Append("\\f"); break;
                case '\b': b.Append("\\b"); break;
                case < ' ': b.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"); break;
                default: b.Append(c); break;
            }
        }
        b.Append('"');
    }
}
