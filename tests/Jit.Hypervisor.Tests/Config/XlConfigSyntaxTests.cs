using System.Text;
using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Tests.Config;

/// <summary>xl.cfg syntax as xl's parser takes it, and one-line errors for what it refuses.</summary>
public sealed class XlConfigSyntaxTests
{
    private static XlConfig Parse(string text) => XlConfig.Parse(text, "dom.cfg");

    private static ConfigAtom Atom(XlConfig c, string key) => Assert.IsType<ConfigAtom>(c.Find(key)!.Value);

    private static ConfigList List(XlConfig c, string key) => Assert.IsType<ConfigList>(c.Find(key)!.Value);

    private static string[] Texts(ConfigList l) => l.Items.Select(i => Assert.IsType<ConfigAtom>(i).Text).ToArray();

    [Fact]
    public void SettingsKeepTheirValuesAndLines()
    {
        var c = Parse("""
            # a domain
            name = "guest"

            memory = 512
            kernel='/boot/Image' # comment after a value
            maxmem = 0x400
            """);
        Assert.Equal("guest", Atom(c, "name").Text);
        Assert.True(Atom(c, "name").IsQuoted);
        Assert.Equal(new ConfigOrigin("dom.cfg", 2), c.Find("name")!.Origin);
        Assert.Equal("512", Atom(c, "memory").Text);
        Assert.False(Atom(c, "memory").IsQuoted);
        Assert.Equal(4, Atom(c, "memory").Origin.Line);
        Assert.Equal("/boot/Image", Atom(c, "kernel").Text);
        Assert.Equal(5, c.Find("kernel")!.Origin.Line);
        Assert.Equal("0x400", Atom(c, "maxmem").Text);
        Assert.Equal(["name", "memory", "kernel", "maxmem"], c.Settings.Select(s => s.Key));
    }

    [Fact]
    public void SemicolonsSeparateSettingsOnOneLine()
    {
        var c = Parse("name=\"h0\"; type=\"pvh\";vcpus=2\n");
        Assert.Equal("h0", Atom(c, "name").Text);
        Assert.Equal("pvh", Atom(c, "type").Text);
        Assert.Equal("2", Atom(c, "vcpus").Text);
        Assert.All(c.Settings, s => Assert.Equal(1, s.Origin.Line));
    }

    [Fact]
    public void TheLastLineNeedsNoNewlineNorDoesAFinalComment()
    {
        Assert.Equal("1", Atom(Parse("vcpus = 1"), "vcpus").Text);
        Assert.Equal("1", Atom(Parse("vcpus = 1\n# the end"), "vcpus").Text);
        Assert.Empty(Parse("").Settings);
        Assert.Empty(Parse("\n\n# only a comment\n;;\n").Settings);
    }

    [Fact]
    public void ListsSpanLinesWithCommentsAndATrailingComma()
    {
        var c = Parse("""
            disk = [ 'phy:/dev/a,xvda,w',   # first
                     "file:/b.img,xvdb,r",

                   ]
            vif = []
            pci = [ '01:00.0' ]
            """);
        var disk = List(c, "disk");
        Assert.Equal(["phy:/dev/a,xvda,w", "file:/b.img,xvdb,r"], Texts(disk));
        Assert.Equal(1, disk.Origin.Line);
        Assert.Equal([1, 2], disk.Items.Select(i => i.Origin.Line!.Value));
        Assert.Empty(List(c, "vif").Items);
        Assert.Equal(5, List(c, "vif").Origin.Line);
        Assert.Equal(["01:00.0"], Texts(List(c, "pci")));
    }

    [Fact]
    public void ListsNestAndMixNumbersAndStrings()
    {
        var c = Parse("vnuma = [ [ 'pnode=0', 'size=512' ], [ 1, 0x2 ] ]");
        var outer = List(c, "vnuma");
        Assert.Equal(2, outer.Items.Count);
        Assert.Equal(["pnode=0", "size=512"], Texts(Assert.IsType<ConfigList>(outer.Items[0])));
        Assert.Equal(["1", "0x2"], Texts(Assert.IsType<ConfigList>(outer.Items[1])));
    }

    [Fact]
    public void StringsTakeXlsEscapes()
    {
        var c = Parse("""
            a = "say \"hi\"\t\\ \'x\' \n"
            b = 'it\'s'
            c = "\x41\102\7"
            d = 'double " inside single'
            """);
        Assert.Equal("say \"hi\"\t\\ 'x' \n", Atom(c, "a").Text);
        Assert.Equal("it's", Atom(c, "b").Text);
        Assert.Equal("AB\a", Atom(c, "c").Text);
        Assert.Equal("double \" inside single", Atom(c, "d").Text);
    }

    [Fact]
    public void KeysMayHoldDigitsUnderscoresAndDots()
    {
        var c = Parse("on_crash = 'preserve'\nx.y_2 = 1");
        Assert.NotNull(c.Find("on_crash"));
        Assert.NotNull(c.Find("x.y_2"));
    }

    [Fact]
    public void ARepeatedKeyHoldsItsLastValueAndLine()
    {
        var c = Parse("memory = 256\nvcpus = 1\nmemory = 1024\n");
        Assert.Equal("1024", Atom(c, "memory").Text);
        Assert.Equal(3, c.Find("memory")!.Origin.Line);
        Assert.Equal(["memory", "vcpus"], c.Settings.Select(s => s.Key));
    }

    [Fact]
    public void PlusEqualsAppendsStringsToStringsAndListsToLists()
    {
        var c = Parse("extra = 'console=hvc0'\nextra += ' quiet'\ndisk = ['a']\ndisk += ['b', 'c']\n");
        Assert.Equal("console=hvc0 quiet", Atom(c, "extra").Text);
        Assert.True(c.Find("extra")!.Appended);
        Assert.Equal(2, c.Find("extra")!.Origin.Line);
        Assert.Equal(["a", "b", "c"], Texts(List(c, "disk")));
    }

    [Fact]
    public void PlusEqualsWithoutAnEarlierValueIsAPlainValue()
    {
        var c = Parse("extra += 'quiet'");
        Assert.Equal("quiet", Atom(c, "extra").Text);
    }

    [Fact]
    public void PlusEqualsCannotMixAListAndAString() =>
        ConfigAssert.Rejects(() => Parse("disk = ['a']\ndisk += 'b'\n"), "dom.cfg:2: disk: ", "cannot add a \"string\" to a [list] (from dom.cfg:1)");

    [Theory]
    [InlineData("memory 512\n", "dom.cfg:1: memory: ", "expected '=' after the key, got \"512\"")]
    [InlineData("name = \n", "dom.cfg:1: name: ", "expected a value (a \"string\", a number or a [list]), got the end of the line")]
    [InlineData("name =", "dom.cfg:1: name: ", "got the end of the file")]
    [InlineData("\n\nname = \"abc\n", "dom.cfg:3: name: ", "the string \"\\\"abc\" is not closed by \" on its line")]
    [InlineData("name = 'x' junk\n", "dom.cfg:1: name: ", "expected the end of the line or ';' after the value, got \"junk\"")]
    [InlineData("Memory = 5\n", "dom.cfg:1: ", "\"Memory\": keys are lower case")]
    [InlineData("= 5\n", "dom.cfg:1: ", "expected a key, got \"=\"")]
    [InlineData("\"name\" = 5\n", "dom.cfg:1: ", "expected a key, got \"\\\"name\\\"\"")]
    [InlineData("disk = [ 'a',\n  'b'\n", "dom.cfg:1: disk: ", "the list opened here is not closed by ']' before the end of the file")]
    [InlineData("disk = [ 'a' 'b' ]\n", "dom.cfg:1: disk: ", "expected ',' or ']' after a list item, got \"'b'\"")]
    [InlineData("disk = [ , ]\n", "dom.cfg:1: disk: ", "expected a value")]
    [InlineData("cmdline = 'a\\qb'\n", "dom.cfg:1: cmdline: ", "\"\\\\q\" is not an escape xl knows")]
    [InlineData("cmdline = 'a\\x4'\n", "dom.cfg:1: cmdline: ", "needs two hex digits")]
    [InlineData("cmdline = 'a\\xe9'\n", "dom.cfg:1: cmdline: ", "is not ASCII")]
    [InlineData("cmdline = 'a\\0'\n", "dom.cfg:1: cmdline: ", "a string cannot hold a NUL character")]
    [InlineData("name = 'a'\r\nvcpus = 1\r\n", "dom.cfg:1: name: ", "DOS (CRLF) line endings")]
    [InlineData("memory = 5 + 3\n", "dom.cfg:1: memory: ", "unexpected \"+\" (xl.cfg holds settings, not Python)")]
    [InlineData("memory = 512M\n", "dom.cfg:1: memory: ", "expected the end of the line or ';' after the value, got \"M\"")]
    [InlineData("name = \"a\"\nkernel = {\n", "dom.cfg:2: kernel: ", "unexpected \"{\"")]
    [InlineData("\ufeffname = 'a'\n", "dom.cfg:1: ", "unexpected \"U+FEFF\"")]
    public void SyntaxErrorsAreOneLineWithFileLineAndKeyOrToken(string text, string start, string problem) =>
        ConfigAssert.Rejects(() => Parse(text), start, problem);

    [Fact]
    public void ListsNestOnlySoDeep()
    {
        string deep = "x = " + new string('[', 40) + new string(']', 40);
        ConfigAssert.Rejects(() => Parse(deep), "dom.cfg:1: x: ", "nested more than 16 deep");
        Parse("x = " + new string('[', 16) + new string(']', 16));
    }

    [Fact]
    public void BytesThatAreNotUtf8AreRefusedWithTheirLine()
    {
        byte[] bytes = [.. "name = 'a'\nkernel = '"u8, 0xC3, 0x28, .. "'\n"u8];
        ConfigAssert.Rejects(() => XlConfig.Parse(bytes, "dom.cfg"), "dom.cfg:2: ", "byte 0xc3 is not UTF-8 text");
    }

    [Fact]
    public void Utf8StringsArePreserved()
    {
        var c = XlConfig.Parse(Encoding.UTF8.GetBytes("kernel = '/home/zoë/Image'\n"), "dom.cfg");
        Assert.Equal("/home/zoë/Image", Atom(c, "kernel").Text);
    }

    [Fact]
    public void LoadNamesTheFileAsGivenWhenItCannotBeRead()
    {
        ConfigAssert.Rejects(() => XlConfig.Load("no/such/dom.cfg"), "no/such/dom.cfg: ", "cannot read it: no such file");
        ConfigAssert.Rejects(() => XlConfig.Load(Path.GetTempPath()), Path.GetTempPath() + ": ", "is a directory");
    }

    [Fact]
    public void OverridesAreParsedAsLinesOfTheFileAndWin()
    {
        var c = Parse("memory = 256\nextra = 'console=hvc0'\n")
            .WithOverrides(["memory=512", "extra+=' quiet'", "vcpus=2; vuart='sbsa_uart'"]);
        Assert.Equal("512", Atom(c, "memory").Text);
        Assert.True(c.Find("memory")!.Origin.IsCommandLine);
        Assert.Equal("command line", c.Find("memory")!.Origin.ToString());
        Assert.Equal("console=hvc0 quiet", Atom(c, "extra").Text);
        Assert.Equal("2", Atom(c, "vcpus").Text);
        Assert.Equal("sbsa_uart", Atom(c, "vuart").Text);
    }

    [Theory]
    [InlineData("memory", "command line: memory: ", "expected '=' after the key, got the end of the argument")]
    [InlineData("memory=", "command line: memory: ", "expected a value")]
    [InlineData("Memory=5", "command line: ", "keys are lower case")]
    [InlineData("disk=['a'", "command line: disk: ", "not closed by ']' before the end of the argument")]
    [InlineData("name='a\nb'", "command line: ", "an override is one line")]
    public void OverrideSyntaxErrorsNameTheCommandLine(string argument, string start, string problem) =>
        ConfigAssert.Rejects(() => Parse("name = 'x'\n").WithOverrides([argument]), start, problem);
}
