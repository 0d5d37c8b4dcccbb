using Jit.Devices.Uart;

namespace Jit.Hypervisor.Builder;

/// <summary>
/// The minimal machine for bare-metal programs: one vCPU, RAM bank 0 of the guest memory map, the PL011 console
/// and PSCI over HVC. The program is entered at EL1h with the MMU off and interrupts masked.
/// </summary>
public sealed class BareMetalMachine : Machine
{
    public const ulong RamBase = GuestMemoryMap.Ram0Base;
    public const ulong DefaultRamSize = 128UL << 20;
    /// <summary>RAM bank 0 of the guest memory map holds at most 3 GiB.</summary>
    public const ulong MaxRamSize = GuestMemoryMap.Ram0MaxSize;
    public const ulong Pl011Base = GuestMemoryMap.Pl011Base;

    private BareMetalMachine(Domain domain, Pl011 uart, LoadedImage image) : base(domain, uart) => Image = image;

    public LoadedImage Image { get; }

    /// <summary>Builds the machine and loads <paramref name="path"/>; a bad image raises <see cref="ImageError"/>.</summary>
    /// <param name="icountShift">Instruction-count time at 2^shift ns per instruction (<c>--icount</c>), or null for host time.</param>
    /// <param name="domid">The domain's ID on its host; 0 for <c>jit run</c>.</param>
    /// <param name="name">The domain's name; the program's file name by default.</param>
    public static BareMetalMachine Create(string path, Stream console, ulong ramSize = DefaultRamSize, int? icountShift = null,
        int domid = 0, string? name = null)
    {
        var domain = new Domain(name ?? Path.GetFileName(path), icountShift is int shift ? new Jit.Runtime.Timers.InstructionCounter(shift) : null, domid);
        try
        {
            domain.Memory.AddRam(RamBase, ramSize);
            var uart = new Pl011(console);
            domain.Mmio.Register(Pl011Base, uart);
            var image = ImageLoader.Load(path, domain.Memory, RamBase);
            var vcpu = domain.AddVcpu();
            vcpu.Reset(image.Entry);
            return new BareMetalMachine(domain, uart, image);
        }
        catch
        {
            domain.Dispose();
            throw;
        }
    }
}
