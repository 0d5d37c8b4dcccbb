using System.Globalization;
using Jit.Devices.Pci;
using Jit.Devices.Storage;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Toolstack;

namespace Jit.Hypervisor.Pci;

/// <summary>
/// One of the host's "physical" PCI devices: a device model the host owns (a disk's virtio-blk function or NVMe
/// controller) at a host BDF, which keeps its state object while it moves between domains. A domain that owns it
/// reaches it through an <see cref="AssignedPciFunction"/> on its own bridge; no domain owning it means it is in
/// the assignable pool.
/// </summary>
public sealed class HostPciDevice(PciAddress address, LinuxDisk disk, IBlockImage image, PciFunction function, AssignableDmaPort dma)
{
    public PciAddress Address { get; } = address;

    /// <summary>What the device is: the disk image behind it and its interface.</summary>
    public LinuxDisk Disk { get; } = disk;

    internal IBlockImage Image { get; } = image;

    /// <summary>The device model itself, on no bridge: domains see it through <see cref="View"/>.</summary>
    public PciFunction Function { get; } = function;

    /// <summary>Its bus-master port, pointed at its owner's DMA port or at nothing.</summary>
    public AssignableDmaPort Dma { get; } = dma;

    /// <summary>The domain it is assigned to, or null while it is assignable.</summary>
    public HostedDomain? Owner { get; internal set; }

    /// <summary>The owner's view of it, on the owner's bridge at bus 0, device <see cref="VirtualSlot"/>.</summary>
    public AssignedPciFunction? View { get; internal set; }

    public int VirtualSlot { get; internal set; }

    /// <summary>Function-level resets so far (each time it came back to the pool).</summary>
    public int Resets { get; internal set; }
}

/// <summary>
/// The host's PCI devices and who owns each (Xen's PCI passthrough as xl drives it): given to the control domain
/// when the hypervisor starts it, made assignable (<c>xl pci-assignable-add</c>: taken off the control domain's
/// bridge, reset), assigned to a domain at creation (xl.cfg <c>pci</c>) or at runtime (<c>xl pci-attach</c>), and
/// back to the pool, reset, when detached or when its domain is destroyed. A device moves between domains only
/// through the pool; each move re-points its DMA and MSIs to its new owner's SMMU stream and ITS at the device's
/// requester ID on the new owner's bridge.
/// </summary>
/// <remarks>Every operation runs under one lock; bridges, views and devices take their own locks inside it, never the other way round.</remarks>
public sealed class HostPciDevices : IDisposable
{
    /// <summary>Host BDFs are 0000:01:DD.0, DD = 00, 01, … in the order the devices were declared.</summary>
    public const int HostBus = 1, MaxDevices = 32;

    private readonly object gate = new();
    private readonly List<HostPciDevice> devices = [];
    // Domains on their way out (an attach racing a destroy is refused), held weakly: a destroyed domain's whole
    // graph (its translations and caches) must not outlive it here.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<HostedDomain, object> released = new();

    public IReadOnlyList<HostPciDevice> Devices
    {
        get { lock (gate) return [.. devices]; }
    }

    /// <summary>Opens the disk and makes its device at the next host BDF, assignable.</summary>
    /// <exception cref="DiskImageException">The image cannot be opened.</exception>
    public HostPciDevice Add(LinuxDisk disk)
    {
        lock (gate)
        {
            if (devices.Count >= MaxDevices) throw new InvalidOperationException($"at most {MaxDevices} host PCI devices");
            var address = new PciAddress(0, HostBus, devices.Count, 0);
            var image = DiskImage.Open(disk.Path, disk.Format, disk.ReadOnly);
            var dma = new AssignableDmaPort();
            // Offered behind an IOMMU whoever owns it: a domain without an SMMU still maps through its DMA API, one
            // with an SMMU must.
            var function = LinuxMachine.DiskController(disk, image, dma,
                string.Create(CultureInfo.InvariantCulture, $"JITHOST{address.Bus:x2}{address.Device:x2}{address.Function:x1}"), accessPlatform: true);
            var device = new HostPciDevice(address, disk, image, function, dma);
            devices.Add(device);
            return device;
        }
    }

    public HostPciDevice? Find(PciAddress address)
    {
        lock (gate) return devices.Find(d => d.Address == address);
    }

    /// <summary>The devices in the assignable pool (xl pci-assignable-list).</summary>
    public IReadOnlyList<HostPciDevice> Assignable
    {
        get { lock (gate) return [.. devices.Where(d => d.Owner is null)]; }
    }

    /// <summary>The devices <paramref name="domain"/> owns, by virtual slot (xl pci-list).</summary>
    public IReadOnlyList<HostPciDevice> AssignedTo(HostedDomain domain)
    {
        lock (gate) return [.. devices.Where(d => d.Owner == domain).OrderBy(d => d.VirtualSlot)];
    }

    /// <summary>
    /// Puts <paramref name="address"/> on <paramref name="domain"/>'s bridge at <paramref name="slot"/> (bus 0) or
    /// its first free device number. The device must be assignable, or owned by <paramref name="controlDomain"/>
    /// and <paramref name="seize"/> given. Returns null, or why not, in one line.
    /// </summary>
    public string? Assign(HostedDomain domain, PciAddress address, int? slot = null, bool seize = false, HostedDomain? controlDomain = null,
        TextWriter? warnings = null)
    {
        lock (gate)
        {
            if (Lookup(address, out string? error) is not { } device) return error;
            if (device.Owner == domain) return $"{address} is already assigned to {Describe(domain)}";
            if (device.Owner is { } owner)
            {
                if (!seize || owner != controlDomain)
                    return owner.DomId == Host.ControlDomainId
                        ? $"{address} is not assignable: the control domain has it (xl pci-assignable-add {address}, or seize=1)"
                        : $"{address} is already assigned to {Describe(owner)}";
                TakeBack(device, warnings);
            }
            if (released.TryGetValue(domain, out _)) return $"{Describe(domain)} is being destroyed";
            if (domain.Machine is not LinuxMachine machine) return $"{Describe(domain)} has no PCI bus";
            int at = slot ?? FirstFreeSlot(machine);
            if (at < 0) return $"{Describe(domain)} has no free device number on bus 0";
            if (machine.Pci.FunctionAt(0, at, 0) is { } taken)
                return string.Create(CultureInfo.InvariantCulture, $"device number {at:x2} of {Describe(domain)}'s bus 0 is taken by {taken.Name}");
            var view = new AssignedPciFunction(device.Function, device.Dma, domain.Domain.LogName, machine.DmaPortFor);
            machine.Pci.Register(0, at, 0, view);
            device.Owner = domain;
            device.View = view;
            device.VirtualSlot = at;
            return null;
        }
    }

    /// <summary>
    /// xl pci-assignable-add: takes the device from the control domain into the pool. A control domain that has
    /// not removed it first (its driver still has memory decoding or bus mastering on) loses it anyway, as Xen's
    /// pciback takes a device whose driver it unbound; <paramref name="warnings"/> hears of it (bus mastering still on).
    /// </summary>
    public string? MakeAssignable(PciAddress address, TextWriter warnings)
    {
        lock (gate)
        {
            if (Lookup(address, out string? error) is not { } device) return error;
            if (device.Owner is null) return null;
            if (device.Owner.DomId != Host.ControlDomainId)
                return $"{address} is assigned to {Describe(device.Owner)}: detach it there first (xl pci-detach {device.Owner.Name} {address})";
            TakeBack(device, warnings);
            return null;
        }
    }

    /// <summary>xl pci-detach: takes the device from <paramref name="domain"/> (which should have removed it) back to the pool, reset.</summary>
    public string? Detach(HostedDomain domain, PciAddress address, TextWriter warnings)
    {
        lock (gate)
        {
            if (Lookup(address, out string? error) is not { } device) return error;
            if (device.Owner != domain) return $"{address} is not assigned to {Describe(domain)}";
            TakeBack(device, warnings);
            return null;
        }
    }

    /// <summary>Returns every device <paramref name="domain"/> owns to the pool, reset; it can be given none after this.</summary>
    public void ReleaseAll(HostedDomain domain)
    {
        lock (gate)
        {
            released.AddOrUpdate(domain, domain);
            foreach (var device in devices.Where(d => d.Owner == domain)) TakeBack(device, warnings: null);
        }
    }

    private HostPciDevice? Lookup(PciAddress address, out string? error)
    {
        var device = devices.Find(d => d.Address == address);
        error = device is null
            ? $"{address} is not a PCI device of this host ({(devices.Count == 0 ? "it has none; jit hypervisor start --pci-device disk=FILE" : string.Join(", ", devices.Select(d => d.Address)))})"
            : null;
        return device;
    }

    /// <summary>Off its owner's bridge (its DMA and MSIs with it), then a function-level reset: assignable.</summary>
    private static void TakeBack(HostPciDevice device, TextWriter? warnings)
    {
        var owner = device.Owner!;
        var view = device.View!;
        // Linux's pci_disable_device, on a driver's unbind or a device's removal, clears bus mastering (memory
        // decoding stays): bus mastering on means a driver still has the device.
        if (warnings is not null && view.BusMasterEnabled)
            warnings.WriteLine($"xl: warning: {device.Address} was still in use in {Describe(owner)} (bus mastering on: remove it there first, " +
                $"echo 1 > /sys/bus/pci/devices/0000:{view.Location}/remove); taken anyway");
        ((LinuxMachine)owner.Machine).Pci.Unregister(0, device.VirtualSlot, 0);
        device.Function.Reset();
        device.Resets++;
        device.Owner = null;
        device.View = null;
        device.VirtualSlot = 0;
    }

    private static int FirstFreeSlot(LinuxMachine machine)
    {
        for (int slot = 1; slot < 32; slot++)
            if (machine.Pci.FunctionAt(0, slot, 0) is null) return slot;
        return -1;
    }

    private static string Describe(HostedDomain d) => d.DomId == Host.ControlDomainId ? "the control domain" : $"domain {d.DomId} ({d.Name})";

    /// <summary>Closes the disk images, flushing them: after every domain is gone.</summary>
    public void Dispose()
    {
        lock (gate)
            foreach (var d in devices) d.Image.Dispose();
    }
}
