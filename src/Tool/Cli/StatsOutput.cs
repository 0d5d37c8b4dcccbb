using Jit.Hypervisor;

namespace Jit.Tool.Cli;

/// <summary>What <c>--stats</c> and <c>--stats-json FILE</c> asked for at the end of a run.</summary>
internal sealed record StatsOutput(bool Table, string? JsonFile)
{
    public bool Requested => Table || JsonFile is not null;
}
