using System.Globalization;
using System.Text;

namespace Jit.Hypervisor.Config;

/// <summary>
/// The syntax of xl.cfg(5) as xl's own parser (libxlu_cfg_l.l and libxlu_cfg_y.y) accepts it:
/// <list type="bullet">
/// <item>settings <c>key = value</c> or <c>key += value</c>, ended by a newline or <c>;</c>; the last one of a
/// file may lack its end;</item>
/// <item>a key is <c>[a-z][._0-9a-z]*</c>: lower case, as xl's lexer has it;</item>
/// <item>a value is a number (<c>[0-9][0-9a-fx]*</c>, read later as C's strtol in base 0 does: decimal, 0x hex,
/// 0 octal), a string in single or double quotes that stays on its line, or a list <c>[ v, v, … ]</c> of values
/// (lists nest) that may span lines, with newlines and comments allowed after <c>[</c>, around each value and
/// after each comma, and one trailing comma; no newline is allowed between the key, the <c>=</c> and the start of
/// the value;</item>
/// <item><c>#</c> starts a comment to the end of the line; spaces and tabs separate tokens; nothing else is
/// whitespace: a carriage return is an error, as in xl, and is reported as a DOS line ending;</item>
/// <item>string escapes <c>\" \' \\ \a \b \f \n \r \t \v</c>, <c>\xHH</c> and octal <c>\o</c>..<c>\ooo</c>;
/// anything else after a backslash is an error.</item>
/// </list>
/// Where xl's implementation and its intent part, the intent is followed: its numeric escapes never parse (a
/// bounds check rejects every <c>\x</c>, and octal digits are read in base 10); here they mean what they say,
/// limited to ASCII so a string's bytes are what the file spells. A string may not hold NUL (xl's C strings would
/// silently end there). A comment on the last line needs no newline (xl's lexer demands one).
/// </summary>
public sealed class XlConfigParser
{
    /// <summary>Deeper nesting than any xl key uses (vnuma and vsnd go two deep); keeps hostile input off the stack.</summary>
    public const int MaxListDepth = 16;

    private enum Kind { Ident, Number, String, Comma, Open, Close, Assign, AddAssign, Semicolon, Newline, End, UpperWord, Bad }

    private readonly record struct Token(Kind Kind, string Text, string Raw, int Line);

    private readonly string text;
    private readonly Func<int, ConfigOrigin> originOf;
    private readonly bool isCommandLine;
    private int pos;
    private int line = 1;
    private Token current;

    private XlConfigParser(string text, Func<int, ConfigOrigin> originOf, bool isCommandLine)
    {
        this.text = text;
        this.originOf = originOf;
        this.isCommandLine = isCommandLine;
        current = Lex();
    }

    /// <summary>One assignment in file order, before the last-wins and <c>+=</c> rules are applied.</summary>
    public readonly record struct Assignment(string Key, bool Append, ConfigValue Value);

    /// <summary>The assignments of a file's text; lines are counted from 1 and reported as <c>source:line</c>.</summary>
    public static List<Assignment> ParseFile(string text, string source) =>
        new XlConfigParser(text, l => new ConfigOrigin(source, l), false).Statements();

    /// <summary>The assignments of one <c>KEY=VALUE</c> argument, reported as coming from the command line.</summary>
    public static List<Assignment> ParseCommandLine(string argument) =>
        new XlConfigParser(argument, _ => ConfigOrigin.CommandLine, true).Statements();

    private List<Assignment> Statements()
    {
        var result = new List<Assignment>();
        while (true)
        {
            switch (current.Kind)
            {
                case Kind.End:
                    return result;
                case Kind.Newline or Kind.Semicolon:
                    Advance();
                    continue;
                case Kind.Ident:
                    result.Add(AssignmentStatement());
                    if (current.Kind is not (Kind.Newline or Kind.Semicolon or Kind.End))
                        throw Unexpected(result[^1].Key, "expected the end of the line or ';' after the value");
                    continue;
                case Kind.Bad:
                    throw Error(current.Line, null, current.Text);
                case Kind.UpperWord:
                    throw Error(current.Line, null, $"{Quote(current.Raw)}: keys are lower case (a-z, 0-9, '_' and '.', starting with a letter)");
                default:
                    throw Error(current.Line, null, $"expected a key, got {Describe(current)}");
            }
        }
    }

    private Assignment AssignmentStatement()
    {
        string key = current.Text;
        Advance();
        bool append;
        if (current.Kind == Kind.Assign) append = false;
        else if (current.Kind == Kind.AddAssign) append = true;
        else throw Unexpected(key, "expected '=' after the key");
        Advance();
        return new Assignment(key, append, Value(key, 1));
    }

    private ConfigValue Value(string key, int depth)
    {
        var origin = originOf(current.Line);
        switch (current.Kind)
        {
            case Kind.String or Kind.Number:
                var atom = new ConfigAtom(current.Text, current.Kind == Kind.String, origin);
                Advance();
                return atom;
            case Kind.Open:
                if (depth > MaxListDepth) throw Error(current.Line, key, $"lists nested more than {MaxListDepth} deep");
                return List(key, depth, origin);
            default:
                throw Unexpected(key, "expected a value (a \"string\", a number or a [list])");
        }
    }

    private ConfigList List(string key, int depth, ConfigOrigin origin)
    {
        int openLine = current.Line;
        Advance();
        SkipNewlines();
        var items = new List<ConfigValue>();
        while (current.Kind != Kind.Close)
        {
            if (current.Kind == Kind.End)
                throw Error(openLine, key, $"the list opened here is not closed by ']' before the end of the {InputName}");
            items.Add(Value(key, depth + 1));
            SkipNewlines();
            if (current.Kind == Kind.Comma)
            {
                Advance();
                SkipNewlines();
            }
            else if (current.Kind != Kind.Close)
            {
                if (current.Kind == Kind.End)
                    throw Error(openLine, key, $"the list opened here is not closed by ']' before the end of the {InputName}");
                throw Unexpected(key, "expected ',' or ']' after a list item");
            }
        }
        Advance();
        return new ConfigList(items, origin);
    }

    private void SkipNewlines()
    {
        while (current.Kind == Kind.Newline) Advance();
    }

    private void Advance() => current = Lex();

    private ConfigError Unexpected(string key, string expectation) =>
        current.Kind == Kind.Bad
            ? Error(current.Line, key, current.Text)
            : Error(current.Line, key, $"{expectation}, got {Describe(current)}");

    private ConfigError Error(int atLine, string? subject, string problem) => new(originOf(atLine), subject, problem);

    private string InputName => isCommandLine ? "argument" : "file";

    private string Describe(Token t) => t.Kind switch
    {
        Kind.Newline => "the end of the line",
        Kind.End => $"the end of the {InputName}",
        _ => Quote(t.Raw),
    };

    // ---- lexer -------------------------------------------------------------------------------------------------

    private Token Lex()
    {
        while (pos < text.Length && text[pos] is ' ' or '\t') pos++;
        if (pos >= text.Length) return new Token(Kind.End, "", "", line);

        int start = pos;
        char c = text[pos];
        switch (c)
        {
            case '\n':
                pos++;
                return new Token(Kind.Newline, "", "\n", line++);
            case '#':
                while (pos < text.Length && text[pos] != '\n') pos++;
                if (pos < text.Length) pos++;
                return new Token(Kind.Newline, "", "#", line++);
            case ',': pos++; return new Token(Kind.Comma, ",", ",", line);
            case '[': pos++; return new Token(Kind.Open, "[", "[", line);
            case ']': pos++; return new Token(Kind.Close, "]", "]", line);
            case '=': pos++; return new Token(Kind.Assign, "=", "=", line);
            case ';': pos++; return new Token(Kind.Semicolon, ";", ";", line);
            case '+' when pos + 1 < text.Length && text[pos + 1] == '=':
                pos += 2;
                return new Token(Kind.AddAssign, "+=", "+=", line);
            case '\'' or '"':
                return QuotedString(c);
            case '\r':
                pos++;
                return Bad("a carriage return: the file has DOS (CRLF) line endings, and xl.cfg takes Unix (LF) ones");
        }
        if (c is >= 'a' and <= 'z')
        {
            while (pos < text.Length && text[pos] is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.') pos++;
            string ident = text[start..pos];
            return new Token(Kind.Ident, ident, ident, line);
        }
        if (c is >= '0' and <= '9')
        {
            while (pos < text.Length && text[pos] is (>= '0' and <= '9') or (>= 'a' and <= 'f') or 'x') pos++;
            string number = text[start..pos];
            return new Token(Kind.Number, number, number, line);
        }
        if (c is >= 'A' and <= 'Z')
        {
            while (pos < text.Length && (char.IsAsciiLetterOrDigit(text[pos]) || text[pos] is '_' or '.')) pos++;
            return new Token(Kind.UpperWord, text[start..pos], text[start..pos], line);
        }
        pos += char.IsSurrogatePair(text, pos) ? 2 : 1;
        string what = c is '+' or '-' or '.' or '(' or ')' or ':'
            ? $"unexpected {Quote(c.ToString())} (xl.cfg holds settings, not Python)"
            : $"unexpected {Quote(text[start..pos])}";
        return Bad(what);
    }

    private Token Bad(string problem) => new(Kind.Bad, problem, problem, line);

    private Token QuotedString(char quote)
    {
        int start = pos;
        pos++;
        var value = new StringBuilder();
        while (true)
        {
            if (pos >= text.Length || text[pos] == '\n')
                return Bad($"the string {Quote(text[start..pos])} is not closed by {quote} on its line");
            char c = text[pos];
            if (c == quote)
            {
                pos++;
                return new Token(Kind.String, value.ToString(), text[start..pos], line);
            }
            if (c == '\0') { pos++; return Bad("a string cannot hold a NUL character"); }
            if (c == '\r') { pos++; return Bad("a carriage return inside a string: the file has DOS (CRLF) line endings, and xl.cfg takes Unix (LF) ones"); }
            if (c != '\\')
            {
                value.Append(c);
                pos++;
                continue;
            }
            pos++;
            if (pos >= text.Length || text[pos] == '\n')
                return Bad($"the string {Quote(text[start..pos])} is not closed by {quote} on its line");
            char e = text[pos++];
            switch (e)
            {
                case '"' or '\'' or '\\': value.Append(e); break;
                case 'a': value.Append('\a'); break;
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'n': value.Append('\n'); break;
                case 'r': value.Append('\r'); break;
                case 't': value.Append('\t'); break;
                case 'v': value.Append('\v'); break;
                case 'x':
                    if (!NumericEscape(value, 16, 2, 2, "\\x", out string? hexProblem)) return Bad(hexProblem!);
                    break;
                case >= '0' and <= '7':
                    pos--;
                    if (!NumericEscape(value, 8, 1, 3, "\\", out string? octProblem)) return Bad(octProblem!);
                    break;
                default:
                    return Bad($"{Quote("\\" + e)} is not an escape xl knows (\\\" \\' \\\\ \\a \\b \\f \\n \\r \\t \\v \\xHH \\ooo)");
            }
        }
    }

    private bool NumericEscape(StringBuilder value, int radix, int minDigits, int maxDigits, string prefix, out string? problem)
    {
        int start = pos, n = 0;
        while (pos < text.Length && pos - start < maxDigits && IsDigit(text[pos], radix)) n = n * radix + HexValue(text[pos++]);
        string escape = prefix + text[start..pos];
        problem = null;
        if (pos - start < minDigits)
            problem = radix == 16 ? $"{Quote(escape)} needs two hex digits" : $"{Quote(escape)} is not an octal escape";
        else if (n == 0)
            problem = "a string cannot hold a NUL character";
        else if (n > 0x7F)
            problem = $"{Quote(escape)} is not ASCII: write the character itself (the file is UTF-8)";
        if (problem is not null) return false;
        value.Append((char)n);
        return true;
    }

    private static bool IsDigit(char c, int radix) =>
        radix == 8 ? c is >= '0' and <= '7' : char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>
    /// <paramref name="s"/> in double quotes for a one-line message: control and invisible characters escaped, long
    /// text shortened.
    /// </summary>
    internal static string Quote(string s)
    {
        const int Max = 60;
        var b = new StringBuilder("\"");
        int shown = 0;
        foreach (Rune r in s.EnumerateRunes())
        {
            if (shown++ == Max) { b.Append('…'); break; }
            if (r.Value == '"') b.Append("\\\"");
            else if (r.Value == '\\') b.Append("\\\\");
            else if (r.Value == '\n') b.Append("\\n");
            else if (r.Value == '\t') b.Append("\\t");
            else if (r.Value < 0x20 || r.Value == 0x7F) b.Append(CultureInfo.InvariantCulture, $"\\x{r.Value:x2}");
            else if (Rune.GetUnicodeCategory(r) is UnicodeCategory.Format or UnicodeCategory.Control
                     or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate
                     or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
                b.Append(CultureInfo.InvariantCulture, $"U+{r.Value:X4}");
            else b.Append(r.ToString());
        }
        return b.Append('"').ToString();
    }
}
