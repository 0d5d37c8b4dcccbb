using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Toolstack;

/// <summary>
/// Builds a domain from its checked configuration: an ELF kernel is a bare-metal program (one vCPU, RAM bank 0,
/// the PL011, PSCI), anything else an arm64 Linux Image with the Linux platform. Bad images raise
/// <see cref="ImageError"/> naming the file.
/// </summary>
public static class DomainBuilder
{
    public static Machine Build(DomainConfig c, int domid, Stream console)
    {
        ulong ram = c.MemoryMiB << 20;
        if (IsElf(c.Kernel))
        {
            if (c.Vcpus != 1) throw new ImageError(c.Kernel, $"is a bare-metal ELF program, which runs on one vCPU; {c.Source} asks for {c.Vcpus}");
            return BareMetalMachine.Create(c.Kernel, console, ram, domid: domid, name: c.Name);
        }
        var o = new LinuxOptions(c.Kernel, c.Ramdisk, c.Cmdline ?? "console=ttyAMA0", ram, c.Vcpus, c.JitDtb);
        return LinuxMachine.Create(o, console, domid, c.Name);
    }

    private static bool IsElf(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        try
        {
            using var f = File.OpenRead(path);
            return f.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("\u007fELF"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageError(path, $"cannot be read: {e.Message}");
        }
    }
}
