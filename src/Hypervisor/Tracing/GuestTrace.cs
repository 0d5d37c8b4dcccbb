using System.Globalization;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Smccc;
using Jit.Runtime.Exceptions;
using Jit.Translator.Disassembler;

namespace Jit.Hypervisor.Tracing;

/// <summary>What <c>--trace</c> logs, after QEMU's <c>-d</c> items of the same names.</summary>
[Flags]
public enum TraceKinds
{
    None = 0,
    /// <summary>Every block when it is decoded, disassembled.</summary>
    InAsm = 1,
    /// <summary>Every block entry.</summary>
    Exec = 2,
    /// <summary>Every exception taken to EL1, synchronous or IRQ.</summary>
    Int = 4,
    /// <summary>Every MMIO access.</summary>
    Mmio = 8,
    /// <summary>Every HVC and SMC the SMCCC dispatcher handles.</summary>
    Smc = 16,
}

/// <summary>
/// Guest tracing: installs the hooks the chosen kinds need on a machine and writes one line per event. Nothing
/// is installed for kinds not asked for, and each hook sits on a path that is cold or already slow (block
/// decoding, exception entry, MMIO, SMCCC) except exec, whose hook is compiled out of the untraced run loop.
/// </summary>
public sealed class GuestTrace : IDisposable
{
    public const string Syntax = "in_asm,exec,int,mmio,smc[,file=F]";

    private readonly TextWriter output;
    private readonly bool ownsOutput;
    private Machine? machine;

    private GuestTrace(TraceKinds kinds, TextWriter output, bool ownsOutput)
    {
        Kinds = kinds;
        // vCPU threads trace concurrently; whole lines must not interleave.
        this.output = TextWriter.Synchronized(output);
        this.ownsOutput = ownsOutput;
    }

    public TraceKinds Kinds { get; }

    /// <summary>The kinds of a <c>--trace</c> value, or null with the reason in <paramref name="error"/>.</summary>
    public static (TraceKinds Kinds, string? File)? Parse(string spec, out string? error)
    {
        var kinds = TraceKinds.None;
        string? file = null;
        error = null;
        foreach (string item in spec.Split(',', StringSplitOptions.TrimEntries))
        {
            if (item.StartsWith("file=", StringComparison.Ordinal))
            {
                file = item[5..];
                if (file.Length == 0) { error = "file= needs a path"; return null; }
                continue;
            }
            var kind = item switch
            {
                "in_asm" => TraceKinds.InAsm,
                "exec" => TraceKinds.Exec,
                "int" => TraceKinds.Int,
                "mmio" => TraceKinds.Mmio,
                "smc" => TraceKinds.Smc,
                _ => (TraceKinds?)null,
            };
            if (kind is null) { error = $"unknown trace kind '{item}' (kinds: {Syntax})"; return null; }
            kinds |= kind.Value;
        }
        if (kinds == TraceKinds.None) { error = $"no trace kind given (kinds: {Syntax})"; return null; }
        return (kinds, file);
    }

    /// <summary>A trace writing to <paramref name="file"/>, or to <paramref name="fallback"/> (stderr) when null.</summary>
    public static GuestTrace Create(TraceKinds kinds, string? file, TextWriter fallback)
    {
        if (file is null) return new GuestTrace(kinds, fallback, ownsOutput: false);
        try
        {
            return new GuestTrace(kinds, new StreamWriter(file, append: false) { AutoFlush = false }, ownsOutput: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageError(file, $"cannot be written: {e.Message}");
        }
    }

    /// <summary>Installs the hooks on <paramref name="target"/>; <see cref="Dispose"/> removes them.</summary>
    public void Attach(Machine target)
    {
        machine = target;
        var domain = target.Domain;
        foreach (var vcpu in domain.Vcpus)
        {
            int id = vcpu.Id;
            if (Kinds.HasFlag(TraceKinds.InAsm)) vcpu.Engine.BlockTranslated = (va, pa, words) => Block(id, va, pa, words);
            if (Kinds.HasFlag(TraceKinds.Exec))
                vcpu.Engine.BlockEntered = (va, pa) => Line($"exec: vcpu{id} pc=0x{va:x} pa=0x{pa:x}");
        }
        if (Kinds.HasFlag(TraceKinds.Int)) ExceptionEntry.Trace = Exception;
        if (Kinds.HasFlag(TraceKinds.Mmio)) domain.Mmio.Trace = Mmio;
        if (Kinds.HasFlag(TraceKinds.Smc)) domain.Smccc.Trace = Smccc;
    }

    private void Line(string text) => output.WriteLine(text);

    private void Block(int vcpu, ulong va, ulong pa, ReadOnlySpan<uint> words)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"in_asm: vcpu{vcpu} block pc=0x{va:x} pa=0x{pa:x} n={words.Length}\n");
        for (int i = 0; i < words.Length; i++)
        {
            ulong pc = va + (ulong)(4 * i);
            sb.Append(CultureInfo.InvariantCulture, $"  0x{pc:x16}:  {words[i]:x8}  {A64Disassembler.Disassemble(words[i], pc)}");
            if (i + 1 < words.Length) sb.Append('\n');
        }
        Line(sb.ToString());
    }

    private void Exception(TakenException e)
    {
        ulong vcpu = e.Mpidr & 0xff;
        Line(e.Irq
            ? $"int: vcpu{vcpu} irq ELR=0x{e.ReturnAddress:x} vector=0x{e.Vector:x}"
            : $"int: vcpu{vcpu} sync EC=0x{e.Esr >> 26:x2} ESR=0x{e.Esr:x8} ELR=0x{e.ReturnAddress:x} FAR=0x{e.Far:x} vector=0x{e.Vector:x}");
    }

    private void Mmio(MmioAccess a)
    {
        string where = a.Region is { } r ? $"{r.Device.Name}+0x{a.Pa - r.Base:x}" : "unclaimed";
        string arrow = a.Write ? "<-" : "->";
        Line($"mmio: {(a.Write ? "write" : "read")} {a.Size} 0x{a.Pa:x} ({where}) {arrow} 0x{a.Value:x}{(a.Ok ? "" : " refused: data abort")}");
    }

    private void Smccc(SmcccCall request, SmcccCall result, bool permitted, long ticks)
    {
        string owner = SmcccDispatcher.OwnerName(request.Owner);
        double ns = ticks * 1e9 / System.Diagnostics.Stopwatch.Frequency;
        Line($"smc: d{request.DomId} vcpu{request.Vcpu} {request.Conduit.ToString().ToLowerInvariant()} fid=0x{request.FunctionId:x8} ({owner}) " +
             $"{(permitted ? "permitted" : "denied")} x1=0x{request.X1:x} x2=0x{request.X2:x} x3=0x{request.X3:x} -> x0=0x{result.X0:x} " +
             string.Create(System.Globalization.CultureInfo.InvariantCulture, $"x1=0x{result.X1:x} x2=0x{result.X2:x} x3=0x{result.X3:x} in {ns:0} ns"));
    }

    public void Dispose()
    {
        if (machine is { } m)
        {
            foreach (var vcpu in m.Domain.Vcpus)
            {
                vcpu.Engine.BlockTranslated = null;
                vcpu.Engine.BlockEntered = null;
            }
            m.Domain.Mmio.Trace = null;
            m.Domain.Smccc.Trace = null;
            machine = null;
        }
        if (Kinds.HasFlag(TraceKinds.Int)) ExceptionEntry.Trace = null;
        output.Flush();
        if (ownsOutput) output.Dispose();
    }
}
