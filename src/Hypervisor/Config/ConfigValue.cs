namespace Jit.Hypervisor.Config;

/// <summary>
/// Where a setting came from: a line of a configuration file, the file as a whole (for a key it lacks), or the
/// command line of <c>xl create FILE KEY=VALUE …</c>. Prints as <c>file:line</c>, <c>file</c> or
/// <c>command line</c>.
/// </summary>
public readonly record struct ConfigOrigin(string Source, int? Line)
{
    /// <summary>The source name of overrides given as <c>KEY=VALUE</c> arguments.</summary>
    public const string CommandLineSource = "command line";

    public static ConfigOrigin CommandLine => new(CommandLineSource, null);

    public static ConfigOrigin File(string source) => new(source, null);

    public bool IsCommandLine => Line is null && Source == CommandLineSource;

    public override string ToString() => Line is int line ? $"{Source}:{line}" : Source;
}

/// <summary>
/// A value as xl's parser keeps it (libxlu_cfg): an atom or a list of values. xl does not tell a quoted string
/// from a bare number: both are atoms, read as a number or a string by whoever asks for the key, so
/// <c>memory = "512"</c> is as good as <c>memory = 512</c>. <see cref="ConfigAtom.IsQuoted"/> only helps
/// messages and printing.
/// </summary>
public abstract record ConfigValue(ConfigOrigin Origin)
{
    /// <summary>How a message names the kind of this value: <c>a "string"</c>, <c>a [list]</c>.</summary>
    public abstract string KindForMessage { get; }
}

/// <summary>A string or number: the text after unquoting and escapes.</summary>
public sealed record ConfigAtom(string Text, bool IsQuoted, ConfigOrigin Origin) : ConfigValue(Origin)
{
    public override string KindForMessage => IsQuoted ? "a \"string\"" : "a number";
}

/// <summary>A <c>[ … ]</c> list; xl allows lists of lists (vnuma, vsnd), so an item may be a list.</summary>
public sealed record ConfigList(IReadOnlyList<ConfigValue> Items, ConfigOrigin Origin) : ConfigValue(Origin)
{
    public override string KindForMessage => "a [list]";
}

/// <summary>
/// The value a key holds after the whole file (and any overrides) was read. <paramref name="Origin"/> is the line
/// of the assignment that gave it, the last one for a key set twice: the last assignment wins, as in xl.
/// <paramref name="Appended"/> says the value came from <c>+=</c>, which xl refuses for numbers.
/// </summary>
public sealed record ConfigSetting(string Key, ConfigValue Value, ConfigOrigin Origin, bool Appended);
