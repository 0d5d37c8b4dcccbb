using System.Buffers;
using System.Text;

namespace Jit.Hypervisor.Config;

/// <summary>
/// A parsed xl.cfg file: the value each key holds, with where it was set. As in xl (libxlu_cfg.c keeps every
/// assignment and looks keys up newest first), a key set twice holds its last value, and <c>key += value</c>
/// appends to the value before it (strings to strings, lists to lists). <c>xl create FILE KEY=VALUE …</c> reads
/// each <c>KEY=VALUE</c> as one more line after the file's last (xl appends them to the file's text), so an
/// override wins over the file and may <c>+=</c> onto it; here its errors name "command line" instead of a line
/// past the file's end. Only the syntax is checked here: what the keys mean is <see cref="DomainConfigReader"/>'s.
/// </summary>
public sealed class XlConfig
{
    /// <summary>Far more than any domain configuration; a bigger file is not one.</summary>
    public const int MaxFileBytes = 1 << 20;

    private readonly Dictionary<string, ConfigSetting> settings;
    private readonly List<string> order;

    private XlConfig(string source, Dictionary<string, ConfigSetting> settings, List<string> order)
    {
        Source = source;
        this.settings = settings;
        this.order = order;
    }

    /// <summary>The file name as the user gave it; messages start with it.</summary>
    public string Source { get; }

    /// <summary>Every key's setting, in the order the keys first appear.</summary>
    public IEnumerable<ConfigSetting> Settings => order.Select(k => settings[k]);

    public ConfigSetting? Find(string key) => settings.GetValueOrDefault(key);

    /// <summary>Reads and parses <paramref name="path"/>; the path as given names the file in messages.</summary>
    public static XlConfig Load(string path)
    {
        var file = ConfigOrigin.File(path);
        if (path.Length == 0) throw new ConfigError(new ConfigOrigin("(no file name)", null), null, "no configuration file named");
        byte[] bytes;
        try
        {
            if (Directory.Exists(path)) throw new ConfigError(file, null, "is a directory, not a configuration file");
            // Read to the end rather than by the size stat reports, so a pipe (xl create <(…)) works too.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            bytes = ReadAtMost(stream, MaxFileBytes + 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigError(file, null, "cannot read it: " + FileProblem(e));
        }
        if (bytes.Length > MaxFileBytes)
            throw new ConfigError(file, null, $"is larger than {MaxFileBytes >> 20} MiB: not a domain configuration");
        return Parse(bytes, path);
    }

    /// <summary>Parses the bytes of a file (UTF-8 text; xl.cfg is ASCII outside strings).</summary>
    public static XlConfig Parse(ReadOnlySpan<byte> bytes, string source)
    {
        int line = 1;
        for (int i = 0; i < bytes.Length;)
        {
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out int used) != OperationStatus.Done)
                throw new ConfigError(new ConfigOrigin(source, line), null, $"byte 0x{bytes[i]:x2} is not UTF-8 text: this is not a configuration file, or not in UTF-8");
            if (bytes[i] == '\n') line++;
            i += used;
        }
        return Parse(Encoding.UTF8.GetString(bytes), source);
    }

    public static XlConfig Parse(string text, string source)
    {
        var config = new XlConfig(source, new Dictionary<string, ConfigSetting>(StringComparer.Ordinal), new List<string>());
        config.Apply(XlConfigParser.ParseFile(text, source));
        return config;
    }

    /// <summary>
    /// This configuration with <c>KEY=VALUE</c> arguments of <c>xl create</c> applied in order; each is parsed as a
    /// line of the file (so it may hold several settings separated by <c>;</c>).
    /// </summary>
    public XlConfig WithOverrides(IEnumerable<string> arguments)
    {
        var copy = new XlConfig(Source, new Dictionary<string, ConfigSetting>(settings, StringComparer.Ordinal), new List<string>(order));
        foreach (string argument in arguments)
        {
            if (argument.Contains('\n') || argument.Contains('\r'))
                throw new ConfigError(ConfigOrigin.CommandLine, null, $"{XlConfigParser.Quote(argument)}: an override is one line");
            copy.Apply(XlConfigParser.ParseCommandLine(argument));
        }
        return copy;
    }

    private void Apply(List<XlConfigParser.Assignment> assignments)
    {
        foreach (var (key, append, value) in assignments)
        {
            var stored = value;
            if (append && settings.TryGetValue(key, out var previous))
                stored = Concatenate(key, previous.Value, value);
            if (!settings.ContainsKey(key)) order.Add(key);
            settings[key] = new ConfigSetting(key, stored, value.Origin, append);
        }
    }

    private static ConfigValue Concatenate(string key, ConfigValue before, ConfigValue added) => (before, added) switch
    {
        (ConfigAtom a, ConfigAtom b) => new ConfigAtom(a.Text + b.Text, a.IsQuoted || b.IsQuoted, b.Origin),
        (ConfigList a, ConfigList b) => new ConfigList([.. a.Items, .. b.Items], b.Origin),
        _ => throw new ConfigError(added.Origin, key,
            $"cannot add {added.KindForMessage} to {before.KindForMessage} (from {before.Origin}): += joins strings to strings and lists to lists"),
    };

    private static byte[] ReadAtMost(Stream stream, int limit)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while (buffer.Length < limit && (n = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, limit - buffer.Length))) > 0)
            buffer.Write(chunk, 0, n);
        return buffer.ToArray();
    }

    /// <summary>What went wrong opening a file, in a few words (the exception's text repeats the path).</summary>
    internal static string FileProblem(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        PathTooLongException => "the path is too long",
        _ => e.Message.ReplaceLineEndings(" "),
    };
}
