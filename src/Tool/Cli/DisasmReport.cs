using System.Globalization;
using System.Text.Json;
using Jit.Translator.Tier1.Inspection;

using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>How <c>jit disasm</c> prints its regions: listings for people, or the figures as JSON for perf gates.</summary>
internal static class DisasmReport
{
    public sealed record Run(string Guest, ulong Instructions, string Jit);

    public sealed record Region(RegionInspection Code, ulong Entries);

    public static void WriteText(TextWriter w, IReadOnlyList<Region> regions)
    {
        for (int i = 0; i < regions.Count; i++)
        {
            var (r, entries) = (regions[i].Code, regions[i].Entries);
            if (i > 0) w.WriteLine();
            w.WriteLine(Invariant($"=== {r.Name}: PA 0x{r.Pa:x}, VA 0x{r.Va:x}, entered {entries:N0} times ({i + 1} of {regions.Count}) ==="));

            w.WriteLine(Invariant($"--- A64: {r.GuestInstructions} instructions ---"));
            foreach (var g in r.Guest) w.WriteLine(Invariant($"  {g.Address:x}:  {g.Word:x8}  {g.Text}"));

            w.WriteLine(Invariant($"--- IL: {r.IlOps} ops, {r.IlBytes} bytes ---"));
            w.Write(r.Il);

            w.WriteLine(Invariant($"--- x86-64: {r.HostInstructions.Count} instructions, {r.HostBytes} bytes at 0x{r.Host.Address:x} ---"));
            foreach (var h in r.HostInstructions)
                w.WriteLine(Invariant($"  +{h.Offset:x4}  {Convert.ToHexString(h.Bytes).ToLowerInvariant(),-24}  {h.Text}"));

            w.WriteLine(Invariant(
                $"--- {r.GuestInstructions} guest instructions; IL {r.IlOps} ops, {r.IlBytes} bytes; host {r.HostBytes} bytes, {r.HostInstructions.Count} instructions; ") +
                Invariant($"{r.HostBytesPerGuestInstruction:F1} host bytes and {r.HostInstructionsPerGuestInstruction:F2} host instructions per guest instruction ---"));
        }
        if (regions.Count > 1) WriteTable(w, regions);
    }

    /// <summary>The figures of every region again, one line each, to compare them at a glance.</summary>
    private static void WriteTable(TextWriter w, IReadOnlyList<Region> regions)
    {
        w.WriteLine();
        w.WriteLine("region                     entries   guest  IL ops  IL bytes  host bytes  host insts  bytes/guest  insts/guest");
        foreach (var (r, entries) in regions)
            w.WriteLine(Invariant(
                $"{r.Name,-22} {entries,12:N0} {r.GuestInstructions,7} {r.IlOps,7} {r.IlBytes,9} {r.HostBytes,11} {r.HostInstructions.Count,11} {r.HostBytesPerGuestInstruction,12:F1} {r.HostInstructionsPerGuestInstruction,12:F2}"));
    }

    /// <summary>
    /// One object: the run (guest, instructions, engine switches) and its regions' figures. Addresses are hex
    /// strings, since a kernel VA does not survive a JSON number's double.
    /// </summary>
    public static void WriteJson(TextWriter w, Run run, IReadOnlyList<Region> regions)
    {
        using var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("guest", run.Guest);
            j.WriteNumber("instructions", run.Instructions);
            j.WriteString("jit", run.Jit);
            j.WriteStartArray("regions");
            foreach (var (r, entries) in regions)
            {
                j.WriteStartObject();
                j.WriteString("name", r.Name);
                j.WriteString("pa", Invariant($"0x{r.Pa:x}"));
                j.WriteString("va", Invariant($"0x{r.Va:x}"));
                j.WriteNumber("entries", entries);
                j.WriteNumber("guestInstructions", r.GuestInstructions);
                j.WriteNumber("ilOps", r.IlOps);
                j.WriteNumber("ilBytes", r.IlBytes);
                j.WriteNumber("hostBytes", r.HostBytes);
                j.WriteNumber("hostInstructions", r.HostInstructions.Count);
                j.WriteNumber("hostBytesPerGuestInstruction", Math.Round(r.HostBytesPerGuestInstruction, 3));
                j.WriteNumber("hostInstructionsPerGuestInstruction", Math.Round(r.HostInstructionsPerGuestInstruction, 3));
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        w.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
