using System.Text;

namespace Jit.Hypervisor.Config;

/// <summary>
/// Turns a parsed xl.cfg into a checked <see cref="DomainConfig"/>, with xl's meaning for each key (xl_parse.c
/// parse_config_data) and xl's defaults (libxl's where xl leaves them to it):
/// <list type="bullet">
/// <item><c>name</c> is required. <c>type</c> defaults to "pvh", as xl's does on Arm.</item>
/// <item><c>memory</c> and <c>maxmem</c> are MiB; with neither, libxl's 32 MiB; with one, the other equals it;
/// <c>maxmem</c> below <c>memory</c> is an error.</item>
/// <item><c>vcpus</c> defaults to 1.</item>
/// <item><c>cmdline</c> wins over <c>root</c> and <c>extra</c> (and xl warns that they are ignored); without it the
/// command line is <c>root=ROOT EXTRA</c>.</item>
/// <item><c>on_poweroff</c>, <c>on_reboot</c>, <c>on_crash</c> default to destroy, restart, destroy.</item>
/// <item>Relative paths (<c>kernel</c>, <c>ramdisk</c>, <c>device_tree</c>, <c>jit_dtb</c>) are relative to the
/// working directory of <c>xl create</c>, not to the configuration file: xl hands the strings to libxl, which
/// opens them from xl's own directory.</item>
/// <item>Numbers are read as C's strtol in base 0 reads them (xl's xlu_cfg_get_long): <c>0x</c> hex, a leading 0
/// octal; a quoted number is a number, as in xl; <c>+=</c> cannot build one.</item>
/// <item><c>vuart</c> and <c>tee</c> values are matched without regard to case, as libxl's enum parsers do.</item>
/// <item><c>jit_smmu</c> (ours, not xl's: xl has no key for a virtual IOMMU on Arm) is 0 or 1, as xl's booleans
/// are numbers: whether an SMMUv3 sits in front of the domain's PCIe bridge (1 unless said).</item>
/// <item><c>smccc_permit</c> (ours, not xl's) is a list of strings, or one string for a list of one, each
/// <c>[smc:|hvc:]OWNER[:RANGE]</c> or <c>!OWNER</c> (<see cref="Smccc.SmcccPermit"/>); an owner may not be both
/// denied and permitted.</item>
/// </list>
/// Where xl is lenient this is strict on purpose, so that a mistake cannot pass unnoticed into a running domain:
/// an unknown key is an error (xl ignores it silently), as are a list where a single value belongs and the reverse
/// (xl warns and ignores the key), a CPU the host lacks, and files that cannot be read. Every problem is a
/// <see cref="ConfigError"/> naming the file, the line and the key.
/// </summary>
public static class DomainConfigReader
{
    /// <summary>libxl's memory when a configuration gives neither memory nor maxmem (32 MiB).</summary>
    public const ulong DefaultMemoryMiB = 32;

    /// <summary>The most memory whose size in bytes fits 64 bits.</summary>
    public const ulong MaxMemoryMiB = ulong.MaxValue >> 20;

    /// <summary>"guest-" + name + ".log" must fit a 255-byte file name: the console log is named after the domain.</summary>
    public const int MaxNameBytes = 255 - 10;

    private static readonly string[] Supported =
    [
        "name", "type", "kernel", "ramdisk", "cmdline", "extra", "root", "device_tree", "jit_dtb",
        "memory", "maxmem", "vcpus", "vuart", "on_poweroff", "on_reboot", "on_crash", "cpus", "tee",
        "smccc_permit", "disk", "vif", "jit_smmu", "pci",
    ];

    /// <summary>Keys xl knows that mean nothing here yet: named as such rather than as typos.</summary>
    private static readonly string[] XlOnly =
    [
        "maxvcpus", "uuid", "on_watchdog", "on_soft_reset", "builder", "bootloader", "bootloader_args", "gic_version",
        "dtdev", "iomem", "irqs", "passthrough", "vnuma", "cpus_soft", "seclabel", "init_seclabel", "pool",
        "max_grant_frames", "max_maptrack_frames", "max_grant_version", "max_event_channels", "sve", "vpmu",
        "nr_spis", "driver_domain", "channel", "vkb", "vdispl", "vsnd", "vtpm", "p9", "virtio", "usbctrl", "usbdev",
        "cpu_weight", "cap", "nomigrate", "event_channels", "trap_unmapped_accesses", "vcpu_hard_affinity",
    ];

    /// <summary>Reads <paramref name="path"/>, applies <c>xl create</c>'s <c>KEY=VALUE</c> overrides, and checks it.</summary>
    public static DomainConfig Load(string path, IEnumerable<string> overrides, HostLimits limits, string? workingDirectory = null) =>
        Read(XlConfig.Load(path).WithOverrides(overrides), limits, workingDirectory);

    /// <param name="workingDirectory">Where relative paths start: the directory <c>xl create</c> ran in (default: ours).</param>
    public static DomainConfig Read(XlConfig config, HostLimits limits, string? workingDirectory = null)
    {
        workingDirectory = Path.GetFullPath(workingDirectory ?? Directory.GetCurrentDirectory());
        foreach (var setting in config.Settings)
        {
            if (Supported.Contains(setting.Key)) continue;
            if (XlOnly.Contains(setting.Key))
                throw new ConfigError(setting.Origin, setting.Key, "an xl key this hypervisor does not support (yet)");
            string? near = Nearest(setting.Key);
            throw new ConfigError(setting.Origin, setting.Key, near is null ? "unknown key" : $"unknown key (did you mean \"{near}\"?)");
        }

        var r = new Reader(config, limits, workingDirectory);
        var warnings = new List<string>();
        string name = r.Name();
        r.CheckType();
        string kernel = r.Path("kernel", required: true)!;
        string? ramdisk = r.Path("ramdisk", required: false);
        string? cmdline = r.Cmdline(warnings);
        string? deviceTree = r.Path("device_tree", required: false);
        string? jitDtb = r.Path("jit_dtb", required: false);
        if (deviceTree is not null)
        {
            // Checked here, so that a bad partial tree is one line naming the configuration's line too.
            try
            {
                Builder.PartialDeviceTree.Load(deviceTree);
            }
            catch (Builder.ImageError e)
            {
                throw new ConfigError(config.Find("device_tree")!.Origin, "device_tree", e.Message);
            }
        }
        if (deviceTree is not null && jitDtb is not null)
            throw new ConfigError(config.Find("jit_dtb")!.Origin, "jit_dtb",
                $"cannot be used with device_tree (set at {config.Find("device_tree")!.Origin}): jit_dtb replaces the whole generated tree, device_tree adds nodes to it");
        var (memory, maxmem) = r.Memory();
        int vcpus = r.Vcpus();
        return new DomainConfig
        {
            Source = config.Source,
            Name = name,
            Kernel = kernel,
            Ramdisk = ramdisk,
            Cmdline = cmdline,
            DeviceTree = deviceTree,
            JitDtb = jitDtb,
            MemoryMiB = memory,
            MaxMemoryMiB = maxmem,
            Vcpus = vcpus,
            Vuart = r.Vuart(),
            OnPoweroff = r.Action("on_poweroff", ShutdownAction.Destroy),
            OnReboot = r.Action("on_reboot", ShutdownAction.Restart),
            OnCrash = r.Action("on_crash", ShutdownAction.Destroy),
            CpuAffinity = r.CpuAffinity(vcpus, warnings),
            Tee = r.Tee(),
            Smmu = r.Boolean("jit_smmu") ?? DomainConfig.DefaultSmmu,
            SmcccPermit = r.SmcccPermit(),
            Disks = r.Disks(),
            Nics = r.Nics(),
            Pci = r.Pci(),
            Warnings = warnings,
        };
    }

    private static ConfigError WrongKind(string key, ConfigValue value, string expected) =>
        new(value.Origin, key, $"expected {expected}, got {value.KindForMessage}");

    private sealed class Reader(XlConfig config, HostLimits limits, string workingDirectory)
    {
        private ConfigOrigin Missing => ConfigOrigin.File(config.Source);

        private ConfigAtom? Atom(string key)
        {
            var setting = config.Find(key);
            if (setting is null) return null;
            if (setting.Value is not ConfigAtom atom) throw WrongKind(key, setting.Value, "a \"string\"");
            return atom;
        }

        private string? String(string key) => Atom(key)?.Text;

        private long? Number(string key)
        {
            var setting = config.Find(key);
            if (setting is null) return null;
            if (setting.Value is not ConfigAtom atom) throw WrongKind(key, setting.Value, "a number");
            if (setting.Appended) throw new ConfigError(setting.Origin, key, "+= cannot be used with a number");
            var (status, value) = StrtolBase0(atom.Text);
            if (status == NumberStatus.Ok) return value;
            string problem = status == NumberStatus.OutOfRange
                ? $"{Quote(atom.Text)} is out of range"
                : $"expected a number, got {Quote(atom.Text)}";
            if (status == NumberStatus.Invalid && atom.Text.Length > 1 && atom.Text[0] == '0' && atom.Text.All(char.IsAsciiDigit))
                problem += " (a leading 0 makes it octal, as in xl)";
            throw new ConfigError(atom.Origin, key, problem);
        }

        public string Name()
        {
            var atom = Atom("name") ?? throw new ConfigError(Missing, "name", "required: every domain has a name (name = \"NAME\")");
            string name = atom.Text;
            string? problem =
                name.Length == 0 ? "is empty" :
                name.All(char.IsAsciiDigit) ? "is all digits, and xl reads an all-digit domain argument as a domid" :
                name.Contains('/') ? "holds '/': the console log is a file named after the domain" :
                name.Any(char.IsControl) ? "holds a control character" :
                Encoding.UTF8.GetByteCount(name) > MaxNameBytes ? $"is longer than {MaxNameBytes} bytes: the console log is a file named after the domain" :
                null;
            if (problem is not null) throw new ConfigError(atom.Origin, "name", $"{Quote(name)} {problem}");
            return name;
        }

        public void CheckType()
        {
            var atom = Atom("type");
            if (atom is null || atom.Text == "pvh") return;
            throw new ConfigError(atom.Origin, "type", atom.Text is "pv" or "hvm"
                ? $"{Quote(atom.Text)} is not available on Arm: Arm domains are \"pvh\" (Xen builds every Arm guest as PVH)"
                : $"{Quote(atom.Text)} is not a domain type: Arm domains are \"pvh\"");
        }

        /// <summary>The key's file, made absolute against xl's working directory and checked to be readable.</summary>
        public string? Path(string key, bool required)
        {
            var atom = Atom(key);
            if (atom is null)
                return required ? throw new ConfigError(Missing, key, $"required: the image to boot ({key} = \"PATH\")") : null;
            if (atom.Text.Length == 0) throw new ConfigError(atom.Origin, key, "is an empty path");
            string full;
            try
            {
                full = System.IO.Path.GetFullPath(atom.Text, workingDirectory);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or IOException)
            {
                throw new ConfigError(atom.Origin, key, $"{Quote(atom.Text)} is not a usable path");
            }
            string? problem = Unreadable(full);
            if (problem is null) return full;
            string shown = System.IO.Path.IsPathRooted(atom.Text) ? atom.Text : $"{atom.Text} (from {workingDirectory})";
            throw new ConfigError(atom.Origin, key, $"{shown}: {problem}");
        }

        /// <summary>Why a file cannot be loaded, or null if it can.</summary>
        private static string? Unreadable(string path)
        {
            try
            {
                if (Directory.Exists(path)) return "is a directory";
                var info = new FileInfo(path);
                if (!info.Exists) return "no such file";
                // Also what FIFOs and devices report, which opening could block on: no image is empty.
                if (info.Length == 0) return "is empty (or not a regular file)";
                using var _ = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
                return null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return XlConfig.FileProblem(e);
            }
        }

        public string? Cmdline(List<string> warnings)
        {
            string? cmdline = String("cmdline"), root = String("root"), extra = String("extra");
            if (cmdline is not null)
            {
                if (root is not null || extra is not null)
                {
                    string ignored = root is not null && extra is not null ? "root and extra" : root is not null ? "root" : "extra";
                    warnings.Add($"{config.Find("cmdline")!.Origin}: cmdline: {ignored} ignored in favour of cmdline, as xl does");
                }
                return cmdline;
            }
            return root is not null && extra is not null ? $"root={root} {extra}"
                : root is not null ? $"root={root}"
                : extra;
        }

        public (ulong Memory, ulong MaxMemory) Memory()
        {
            long? memory = Number("memory"), maxmem = Number("maxmem");
            if (memory is < 1) throw new ConfigError(config.Find("memory")!.Origin, "memory", $"{memory} MiB: a domain needs at least 1 MiB");
            if (maxmem is < 1) throw new ConfigError(config.Find("maxmem")!.Origin, "maxmem", $"{maxmem} MiB: a domain needs at least 1 MiB");
            foreach (var (key, value) in (ReadOnlySpan<(string, long?)>)[("memory", memory), ("maxmem", maxmem)])
                if (value > (long)MaxMemoryMiB)
                    throw new ConfigError(config.Find(key)!.Origin, key, $"{value} MiB is more than a 64-bit address space holds");
            ulong target = (ulong)(memory ?? maxmem ?? (long)DefaultMemoryMiB);
            ulong max = (ulong)(maxmem ?? (long)target);
            if (max < target)
                throw new ConfigError(config.Find("maxmem")!.Origin, "maxmem", $"{max} MiB is less than memory ({target} MiB): maxmem is the most the domain may ever have");
            if (target > limits.AvailableMemoryMiB)
            {
                string key = memory is null && maxmem is not null ? "maxmem" : "memory";
                var origin = config.Find(key)?.Origin ?? Missing;
                string given = memory is null && maxmem is null ? $"{target} MiB (libxl's default)"
                    : memory is null ? $"{target} MiB (memory defaults to maxmem)"
                    : $"{target} MiB";
                throw new ConfigError(origin, key, $"{given} is more than the host has free ({limits.AvailableMemoryMiB} MiB)");
            }
            return (target, max);
        }

        public int Vcpus()
        {
            long? vcpus = Number("vcpus");
            if (vcpus is null) return 1;
            if (vcpus < 1 || vcpus > limits.MaxVcpus)
                throw new ConfigError(config.Find("vcpus")!.Origin, "vcpus", $"{vcpus}: a domain has 1 to {limits.MaxVcpus} vCPUs here");
            return (int)vcpus;
        }

        /// <summary>A boolean as xl writes one, the number 0 or 1; null when the key is absent.</summary>
        public bool? Boolean(string key) => Number(key) switch
        {
            null => null,
            0 => false,
            1 => true,
            long n => throw new ConfigError(config.Find(key)!.Origin, key, $"{n}: expected 0 or 1"),
        };

        public VuartKind Vuart()
        {
            var atom = Atom("vuart");
            if (atom is null) return VuartKind.Pl011;
            if (atom.Text.Equals("pl011", StringComparison.OrdinalIgnoreCase)) return VuartKind.Pl011;
            if (atom.Text.Equals("sbsa_uart", StringComparison.OrdinalIgnoreCase)) return VuartKind.SbsaUart;
            throw new ConfigError(atom.Origin, "vuart",
                $"{Quote(atom.Text)} is not a UART model: \"sbsa_uart\" (Xen's SBSA subset of the PL011) or \"pl011\" (the full PL011, the default)");
        }

        public TeeKind Tee()
        {
            var atom = Atom("tee");
            if (atom is null) return TeeKind.None;
            foreach (var (text, kind) in (ReadOnlySpan<(string, TeeKind)>)[("none", TeeKind.None), ("optee", TeeKind.Optee), ("ffa", TeeKind.Ffa)])
                if (atom.Text.Equals(text, StringComparison.OrdinalIgnoreCase)) return kind;
            throw new ConfigError(atom.Origin, "tee", $"{Quote(atom.Text)} is not a TEE: \"none\", \"optee\" or \"ffa\"");
        }

        /// <summary>xl's <c>disk</c>: each entry in xl's disk specification syntax (<see cref="XlDiskSpec"/>).</summary>
        public IReadOnlyList<Builder.LinuxDisk> Disks()
        {
            var disks = new List<Builder.LinuxDisk>();
            var vdevs = new Dictionary<string, ConfigOrigin>();
            foreach (var atom in Strings("disk", "an xl disk specification like \"format=raw, vdev=xvda, access=rw, target=/path/disk.img\""))
            {
                if (!XlDiskSpec.TryParse(atom.Text, out var d, out string problem))
                    throw new ConfigError(atom.Origin, "disk", $"{Quote(atom.Text)}: {problem}");
                if (vdevs.TryGetValue(d.Vdev!, out var first))
                    throw new ConfigError(atom.Origin, "disk", $"{Quote(atom.Text)}: vdev {d.Vdev} is already used (at {first})");
                vdevs[d.Vdev!] = atom.Origin;
                string full;
                try
                {
                    full = System.IO.Path.GetFullPath(d.Target, workingDirectory);
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException or IOException)
                {
                    throw new ConfigError(atom.Origin, "disk", $"{Quote(d.Target)} is not a usable path");
                }
                if (Unreadable(full) is string why) throw new ConfigError(atom.Origin, "disk", $"{d.Target}: {why}");
                disks.Add(new Builder.LinuxDisk(full, d.ReadOnly, d.Format, d.Interface));
            }
            return disks;
        }

        /// <summary>xl's <c>vif</c>: each entry in xl's network syntax (<see cref="XlVifSpec"/>).</summary>
        public IReadOnlyList<Network.NicSpec> Nics()
        {
            var nics = new List<Network.NicSpec>();
            foreach (var atom in Strings("vif", "an xl vif specification like \"bridge=xenbr0, mac=00:16:3e:00:00:01\""))
            {
                if (!XlVifSpec.TryParse(atom.Text, out var nic, out string problem))
                    throw new ConfigError(atom.Origin, "vif", $"{Quote(atom.Text)}: {problem}");
                nics.Add(nic);
            }
            return nics;
        }

        /// <summary>xl's <c>pci</c>: host devices to assign, each named once (<see cref="XlPciSpec"/>).</summary>
        public IReadOnlyList<XlPciSpec> Pci()
        {
            var specs = new List<XlPciSpec>();
            foreach (var atom in Strings("pci", "a PCI specification like \"01:00.0\" or \"0000:01:00.0@05\""))
            {
                if (!XlPciSpec.TryParse(atom.Text, atom.Origin, out var spec, out string problem))
                    throw new ConfigError(atom.Origin, "pci", $"{Quote(atom.Text)}: {problem}");
                if (specs.Find(s => s.Address == spec.Address) is { } first)
                    throw new ConfigError(atom.Origin, "pci", $"{Quote(atom.Text)}: {spec.Address} is already listed (at {first.Origin})");
                if (spec.VirtualSlot is int v && specs.Find(s => s.VirtualSlot == v) is { } same)
                    throw new ConfigError(atom.Origin, "pci", $"{Quote(atom.Text)}: vslot {v:x2} is already taken (at {same.Origin})");
                specs.Add(spec);
            }
            return specs;
        }

        /// <summary>The string entries of list <paramref name="key"/> (absent: none).</summary>
        private List<ConfigAtom> Strings(string key, string what)
        {
            var setting = config.Find(key);
            if (setting is null) return [];
            if (setting.Value is not ConfigList list) throw WrongKind(key, setting.Value, "a [list]");
            var atoms = new List<ConfigAtom>();
            foreach (var item in list.Items)
            {
                if (item is not ConfigAtom atom)
                    throw new ConfigError(item.Origin, key, $"an entry is {item.KindForMessage}: each is {what}");
                atoms.Add(atom);
            }
            return atoms;
        }

        public IReadOnlyList<Smccc.SmcccPermit> SmcccPermit()
        {
            const string key = "smccc_permit";
            var setting = config.Find(key);
            if (setting is null) return [];
            IReadOnlyList<ConfigValue> items = setting.Value is ConfigList list ? list.Items : [setting.Value];
            var permits = new List<Smccc.SmcccPermit>();
            foreach (var item in items)
            {
                if (item is not ConfigAtom atom)
                    throw new ConfigError(item.Origin, key, $"an entry is {item.KindForMessage}: each is a string like \"sip\" or \"smc:sip:0x82000000-0x8200ffff\"");
                if (!Smccc.SmcccPermit.TryParse(atom.Text, out var permit, out string problem))
                    throw new ConfigError(atom.Origin, key, $"{Quote(atom.Text)}: {problem}");
                if (permits.Find(p => p.Owner == permit.Owner && p.Deny != permit.Deny) is { } other)
                    throw new ConfigError(atom.Origin, key,
                        $"{Quote(atom.Text)}: {permit.OwnerName} is both denied and permitted (with {Quote(other.Text)}): give its permitted calls alone, or deny it alone");
                permits.Add(permit);
            }
            return permits;
        }

        public ShutdownAction Action(string key, ShutdownAction otherwise)
        {
            var atom = Atom(key);
            if (atom is null) return otherwise;
            string? refusal = atom.Text switch
            {
                "destroy" => null,
                "restart" => null,
                "preserve" => null,
                "rename-restart" => "is not supported here (it keeps the old domain under a new name beside the new one): use restart, or preserve",
                "coredump-destroy" or "coredump-restart" => "is not supported here (no core dumps yet): use destroy or restart",
                "soft-reset" => "is not supported here (no soft reset): use destroy, restart or preserve",
                _ => "is not an action: destroy, restart or preserve (xl also knows rename-restart, coredump-destroy, coredump-restart and soft-reset, which this hypervisor does not support)",
            };
            if (refusal is not null) throw new ConfigError(atom.Origin, key, $"{Quote(atom.Text)} {refusal}");
            return atom.Text switch
            {
                "restart" => ShutdownAction.Restart,
                "preserve" => ShutdownAction.Preserve,
                _ => ShutdownAction.Destroy,
            };
        }

        public IReadOnlyList<CpuSet>? CpuAffinity(int vcpus, List<string> warnings)
        {
            var setting = config.Find("cpus");
            if (setting is null) return null;
            if (setting.Value is ConfigAtom atom)
            {
                var set = CpuList(atom);
                return Enumerable.Repeat(set, vcpus).ToArray();
            }
            var list = (ConfigList)setting.Value;
            if (list.Items.Count == 0) throw new ConfigError(list.Origin, "cpus", "an empty list pins nothing: leave cpus out, or give one CPU list per vCPU");
            var perVcpu = new CpuSet[vcpus];
            for (int i = 0; i < list.Items.Count && i < vcpus; i++)
            {
                if (list.Items[i] is not ConfigAtom item)
                    throw new ConfigError(list.Items[i].Origin, "cpus", $"entry {i} is {list.Items[i].KindForMessage}: each entry is the CPU list of one vCPU, like \"0-3\"");
                perVcpu[i] = CpuList(item);
            }
            for (int i = list.Items.Count; i < vcpus; i++) perVcpu[i] = CpuSet.All(limits.HostCpus);
            if (list.Items.Count > vcpus)
                warnings.Add($"{list.Origin}: cpus: {list.Items.Count} entries for {vcpus} vCPU{(vcpus == 1 ? "" : "s")}; the entries past vCPU {vcpus - 1} are ignored, as xl does");
            return perVcpu;
        }

        private CpuSet CpuList(ConfigAtom atom) =>
            CpuSet.TryParse(atom.Text, limits.HostCpus, out var set, out string problem)
                ? set
                : throw new ConfigError(atom.Origin, "cpus", problem);
    }

    internal enum NumberStatus { Ok, Invalid, OutOfRange }

    /// <summary>
    /// C's strtol(s, &amp;end, 0) accepting only when it consumed the whole string: leading white space, a sign,
    /// then 0x hex, 0 octal or decimal. A value past a long is out of range, as ERANGE makes it in xl.
    /// </summary>
    internal static (NumberStatus Status, long Value) StrtolBase0(string s)
    {
        int i = 0;
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r') i++;
        bool negative = false;
        if (i < s.Length && s[i] is '+' or '-') negative = s[i++] == '-';
        int radix = 10;
        if (i + 2 < s.Length && s[i] == '0' && s[i + 1] is 'x' or 'X' && char.IsAsciiHexDigit(s[i + 2])) { radix = 16; i += 2; }
        else if (i < s.Length && s[i] == '0') radix = 8;
        int start = i;
        Int128 value = 0;
        bool overflow = false;
        for (; i < s.Length; i++)
        {
            int digit = char.IsAsciiDigit(s[i]) ? s[i] - '0' : char.IsAsciiHexDigit(s[i]) ? (s[i] | 0x20) - 'a' + 10 : 99;
            if (digit >= radix) break;
            if (!overflow) value = value * radix + digit;
            overflow |= value > (Int128)long.MaxValue + 1;
        }
        if (i == start || i != s.Length) return (NumberStatus.Invalid, 0);
        if (negative) value = -value;
        if (overflow || value > long.MaxValue || value < long.MinValue) return (NumberStatus.OutOfRange, 0);
        return (NumberStatus.Ok, (long)value);
    }

    private static string Quote(string s) => XlConfigParser.Quote(s);

    /// <summary>The known key closest to a typo, if one is within two edits.</summary>
    private static string? Nearest(string key)
    {
        string? best = null;
        int bestDistance = 3;
        foreach (string known in Supported)
        {
            int d = EditDistance(key, known);
            if (d < bestDistance) { best = known; bestDistance = d; }
        }
        return best;
    }

    private static int EditDistance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2) return 3;
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) row[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
