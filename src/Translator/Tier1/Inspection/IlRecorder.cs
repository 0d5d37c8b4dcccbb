using System.Globalization;
using System.Reflection;
using System.Reflection.Emit;
using System.Text;

namespace Jit.Translator.Tier1.Inspection;

/// <summary>
/// The IL a tier 1 compile emits, as text: every opcode with its operand (local, constant, label, method) at
/// its IL offset, labels named L0, L1… in the order they are defined and shown where they are marked.
/// </summary>
/// <remarks>
/// An <see cref="Emitter"/> records into the recorder that is current on its thread when it is created
/// (<see cref="Activate"/>), so the compilers need no parameter for it and an ordinary compile, with none
/// current, pays one null test per emitted opcode.
/// </remarks>
public sealed class IlRecorder
{
    [ThreadStatic] private static IlRecorder? current;

    // Mark is not an opcode: a label marked at that offset, kept in the same list so it prints in place.
    private enum Operand : byte { None, Integer, Long, Local, Label, Method, Mark }

    private readonly record struct Entry(int Offset, OpCode Op, Operand Kind, long Value, MemberInfo? Method);

    private readonly List<Entry> entries = [];
    private readonly List<LocalBuilder> locals = [];
    private readonly Dictionary<int, int> labelNames = [];
    private readonly Dictionary<int, int> marks = [];
    private ILGenerator? il;

    internal static IlRecorder? Current => current;

    /// <summary>Opcodes emitted so far (label marks are not opcodes).</summary>
    public int Ops => entries.Count(e => e.Kind != Operand.Mark);

    /// <summary>Bytes of IL emitted so far, as encoded (short forms included).</summary>
    public int IlBytes => il?.ILOffset ?? 0;

    /// <summary>Makes this the recorder of emitters created on this thread until the scope is disposed.</summary>
    public Scope Activate()
    {
        var previous = current;
        current = this;
        return new Scope(previous);
    }

    public readonly struct Scope(IlRecorder? previous) : IDisposable
    {
        public void Dispose() => current = previous;
    }

    internal void Local(LocalBuilder l) => locals.Add(l);

    internal void Label(Label l) => labelNames[l.Id] = labelNames.Count;

    internal void Mark(ILGenerator g, Label l)
    {
        il = g;
        marks[l.Id] = g.ILOffset;
        entries.Add(new Entry(g.ILOffset, OpCodes.Nop, Operand.Mark, l.Id, null));
    }

    internal void Emit(ILGenerator g, OpCode op) => Add(g, new Entry(g.ILOffset, op, Operand.None, 0, null));
    internal void Emit(ILGenerator g, OpCode op, int value) => Add(g, new Entry(g.ILOffset, op, Operand.Integer, value, null));
    internal void Emit(ILGenerator g, OpCode op, long value) => Add(g, new Entry(g.ILOffset, op, Operand.Long, value, null));
    internal void Emit(ILGenerator g, OpCode op, LocalBuilder l) => Add(g, new Entry(g.ILOffset, op, Operand.Local, l.LocalIndex, null));
    internal void Emit(ILGenerator g, OpCode op, Label l) => Add(g, new Entry(g.ILOffset, op, Operand.Label, l.Id, null));
    internal void Emit(ILGenerator g, OpCode op, MethodInfo m) => Add(g, new Entry(g.ILOffset, op, Operand.Method, 0, m));
    internal void Emit(ILGenerator g, OpCode op, FieldInfo f) => Add(g, new Entry(g.ILOffset, op, Operand.Method, 0, f));

    private void Add(ILGenerator g, Entry e)
    {
        il = g;
        entries.Add(e);
    }

    /// <summary>
    /// The listing: the locals, then one line per opcode (<c>IL_0012  ldloc.s  V_5</c>) with each label on a
    /// line of its own where it is marked. Locals print in the short form ILGenerator chose for them, which
    /// the offsets reveal.
    /// </summary>
    public string Listing()
    {
        var sb = new StringBuilder();
        if (locals.Count > 0)
        {
            sb.Append(".locals");
            for (int i = 0; i < locals.Count; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(i % 8 == 0 && i > 0 ? "\n        " : " ");
                sb.Append(CultureInfo.InvariantCulture, $"V_{locals[i].LocalIndex}:{TypeName(locals[i].LocalType)}");
            }
            sb.Append('\n');
        }
        int end = IlBytes;
        for (int i = 0; i < entries.Count; i++)
        {
            Entry e = entries[i];
            if (e.Kind == Operand.Mark)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{LabelName((int)e.Value) + ":",-20}(IL_{e.Offset:x4})\n");
                continue;
            }
            int next = end;
            for (int j = i + 1; j < entries.Count; j++)
            {
                if (entries[j].Kind == Operand.Mark) continue;
                next = entries[j].Offset;
                break;
            }
            string name = EncodedName(e, next - e.Offset);
            sb.Append(CultureInfo.InvariantCulture, $"  IL_{e.Offset:x4}  ");
            string operand = OperandText(e, name);
            if (operand.Length > 0) sb.Append(CultureInfo.InvariantCulture, $"{name,-10} {operand}");
            else sb.Append(name);
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private string LabelName(int id) => labelNames.TryGetValue(id, out int n) ? $"L{n}" : $"L?{id}";

    private string OperandText(Entry e, string name) => e.Kind switch
    {
        Operand.Integer => Number(e.Value),
        Operand.Long => e.Value is >= -9 and <= 9 ? e.Value.ToString(CultureInfo.InvariantCulture) : $"0x{(ulong)e.Value:x}",
        Operand.Local => name.Length > 2 && char.IsDigit(name[^1]) && name[^2] == '.' ? "" : $"V_{e.Value}",
        Operand.Label => LabelName((int)e.Value) + (marks.TryGetValue((int)e.Value, out int at) ? $" (IL_{at:x4})" : ""),
        Operand.Method => e.Method is { } m ? $"{m.DeclaringType?.Name}::{m.Name}" : "",
        _ => "",
    };

    private static string Number(long v) =>
        v is >= -255 and <= 255 ? v.ToString(CultureInfo.InvariantCulture) : $"0x{(uint)v:x}";

    /// <summary>
    /// ILGenerator encodes a local's ldloc/stloc/ldloca in its shortest form (ldloc.2, ldloc.s); the size the
    /// opcode took tells which.
    /// </summary>
    private static string EncodedName(Entry e, int size)
    {
        string name = e.Op.Name ?? "?";
        if (e.Kind != Operand.Local) return name;
        if (size == 1 && e.Op != OpCodes.Ldloca) return $"{name}.{e.Value}";
        if (size == 2) return name + ".s";
        return name;
    }

    private static string TypeName(Type t) => t == typeof(ulong) ? "u8" : t == typeof(uint) ? "u4" : t == typeof(long) ? "i8"
        : t == typeof(int) ? "i4" : t == typeof(nint) ? "nint" : t.Name;
}
