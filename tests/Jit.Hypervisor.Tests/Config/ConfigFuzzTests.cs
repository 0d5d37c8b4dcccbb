using System.Text;
using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Tests.Config;

/// <summary>
/// Whatever bytes a configuration file holds, loading it gives a domain configuration or one <see cref="ConfigError"/>
/// line, never another exception. Fixed seeds, so a failure replays.
/// </summary>
public sealed class ConfigFuzzTests : IDisposable
{
    private static readonly HostLimits Host = new(MaxVcpus: 8, HostCpus: 4, AvailableMemoryMiB: 2048);

    private readonly string dir = Directory.CreateTempSubdirectory("jit-fuzz-").FullName;
    private readonly string good;

    public ConfigFuzzTests()
    {
        File.WriteAllBytes(Path.Combine(dir, "Image"), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(dir, "initrd"), [4]);
        var partial = new Jit.Hypervisor.DeviceTree.FdtWriter();
        partial.BeginNode("").BeginNode("aliases").Property("serial0", "/pl011@22000000").EndNode().EndNode();
        File.WriteAllBytes(Path.Combine(dir, "part.dtb"), partial.Finish());
        File.WriteAllBytes(Path.Combine(dir, "a.img"), new byte[512]);
        good = $"""
            # a guest with most keys
            name = "fuzz-guest"
            type = 'pvh'
            kernel = "{dir}/Image"
            ramdisk = '{dir}/initrd'
            device_tree = "{dir}/part.dtb"
            extra = "console=hvc0 \"quoted\" \x41"; root = '/dev/xvda'
            memory = 0x100
            maxmem = 512
            vcpus = 2
            vuart = "sbsa_uart"
            on_poweroff = "destroy"
            on_reboot = 'restart'
            on_crash = "preserve"
            cpus = [ "0-1", '^0,all',
                   ]
            tee = "optee"
            disk = [ 'file:{dir}/a.img,xvda,w', 'vdev=xvdb, target={dir}/a.img', ]
            vif = [ "bridge=xenbr1", ]
            extra += ' quiet'
            """;
        // The file is sound before it is mangled.
        Load(Encoding.UTF8.GetBytes(good), []);
    }

    public void Dispose() => Directory.Delete(dir, true);

    private DomainConfig Load(byte[] bytes, string[] overrides) =>
        DomainConfigReader.Read(XlConfig.Parse(bytes, "fuzz.cfg").WithOverrides(overrides), Host, dir);

    /// <summary>Loads, and fails the test on anything but success or a one-line ConfigError.</summary>
    private static void Survives(Action load, string what)
    {
        try
        {
            load();
        }
        catch (ConfigError e)
        {
            Assert.True(!e.Message.Contains('\n') && !e.Message.Contains('\r'), $"{what}: a message of several lines: {e.Message}");
            Assert.True(e.Message.StartsWith("fuzz.cfg", StringComparison.Ordinal) || e.Message.StartsWith("command line", StringComparison.Ordinal),
                $"{what}: a message not naming its source: {e.Message}");
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}");
        }
    }

    private static string Show(byte[] bytes) => Convert.ToHexString(bytes);

    [Fact]
    public void RandomBytes()
    {
        var random = new Random(12);
        for (int i = 0; i < 3000; i++)
        {
            var bytes = new byte[random.Next(0, 120)];
            random.NextBytes(bytes);
            // Half the inputs keep to ASCII, so the lexer and parser, not the UTF-8 check, meet them.
            if (i % 2 == 0) for (int j = 0; j < bytes.Length; j++) bytes[j] &= 0x7F;
            Survives(() => Load(bytes, []), Show(bytes));
        }
    }

    [Fact]
    public void MutationsOfAGoodFile()
    {
        var random = new Random(34);
        byte[] original = Encoding.UTF8.GetBytes(good);
        byte[] alphabet = "\"'[],;=+#\n\r\t \\x0-^aAz9.:\0\u00e9"u8.ToArray();
        for (int i = 0; i < 3000; i++)
        {
            var bytes = new List<byte>(original);
            int edits = 1 + random.Next(4);
            for (int e = 0; e < edits && bytes.Count > 0; e++)
            {
                int at = random.Next(bytes.Count);
                switch (random.Next(6))
                {
                    case 0: bytes[at] = (byte)random.Next(256); break;
                    case 1: bytes[at] = alphabet[random.Next(alphabet.Length)]; break;
                    case 2: bytes.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                    case 3: bytes.RemoveAt(at); break;
                    case 4: bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 20))); break;
                    case 5:
                        int from = random.Next(bytes.Count), length = Math.Min(bytes.Count - from, random.Next(1, 40));
                        bytes.InsertRange(at, bytes.GetRange(from, length));
                        break;
                }
            }
            byte[] input = [.. bytes];
            Survives(() => Load(input, []), Show(input));
        }
    }

    [Fact]
    public void TokenSoup()
    {
        string[] tokens =
        [
            "name", "kernel", "memory", "maxmem", "vcpus", "cpus", "vuart", "tee", "on_crash", "extra", "root", "cmdline",
            "disk", "type", "jit_dtb", "device_tree", "x", "=", "+=", "[", "]", ",", ";", "\n", "#c\n", " ", "0", "512",
            "0x10", "010", "9999999999999999999999", "'all,^0'", "\"0-3\"", "'^1'", "'pvh'", "'hvm'", "\"a\\tb\"", "''",
            "'sbsa_uart'", "'optee'", "'restart'", "'42'", "\"\\x\"", "'/'", $"'{dir}/Image'", $"'{dir}'",
            "smccc_permit", "'sip:0x82000000-0x8200ffff'", "'!tos'", "'smc:'", "'hvc:tos:0x'", "'sip:0xffffffff-'", "':'",
            "'std:0x84000000-0x8400001f'", "'!'", "'sip::'",
        ];
        var random = new Random(56);
        for (int i = 0; i < 3000; i++)
        {
            var text = new StringBuilder();
            int n = random.Next(1, 40);
            for (int t = 0; t < n; t++) text.Append(tokens[random.Next(tokens.Length)]);
            byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
            Survives(() => Load(bytes, []), text.ToString());
        }
    }

    [Fact]
    public void RandomOverrides()
    {
        var random = new Random(78);
        byte[] original = Encoding.UTF8.GetBytes(good);
        const string Alphabet = "abcmnoprtuvxy_=+[]',\";#^-0123456789 \\\n";
        for (int i = 0; i < 2000; i++)
        {
            var args = new string[random.Next(1, 4)];
            for (int a = 0; a < args.Length; a++)
            {
                var s = new StringBuilder(random.Next(2) == 0 ? "memory=" : "");
                int n = random.Next(0, 16);
                for (int c = 0; c < n; c++) s.Append(Alphabet[random.Next(Alphabet.Length)]);
                args[a] = s.ToString();
            }
            Survives(() => Load(original, args), string.Join(" | ", args));
        }
    }
}
