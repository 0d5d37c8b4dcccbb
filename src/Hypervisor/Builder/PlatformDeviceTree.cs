using Jit.Hypervisor.DeviceTree;
using Jit.Hypervisor.Platform;
using Jit.Runtime;

namespace Jit.Hypervisor.Builder;

/// <summary>What /chosen passes to the kernel: its command line, the initramfs, and a boot loader's entropy.</summary>
public sealed record BootChosen(string BootArgs, (ulong Start, ulong End)? Initrd = null, ulong? KaslrSeed = null, byte[]? RngSeed = null);

/// <summary>
/// Generates a domain's device tree, as Xen's toolstack does for a domU: the root, /chosen, PSCI, the CPUs
/// (from <see cref="VcpuTopology"/>), the memory banks, then every device of the <see cref="PlatformPlan"/>
/// writing its own node, then the /passthrough and /aliases nodes of xl's partial device tree if there is one.
/// </summary>
public static class PlatformDeviceTree
{
    public static byte[] Build(PlatformPlan plan, BootChosen chosen, PartialDeviceTree? partial = null)
    {
        var links = DeviceTreeLinks.Default;
        var w = new FdtWriter();
        w.BeginNode("")
            .Property("#address-cells", 2u).Property("#size-cells", 2u)
            .Property("compatible", "jit,virt", "linux,dummy-virt")
            .Property("model", "Jit virtual platform")
            .Property("interrupt-parent", links.Gic);

        w.BeginNode("chosen").Property("bootargs", chosen.BootArgs).Property("stdout-path", "/" + plan.Uart.NodeName);
        if (chosen.Initrd is var (start, end)) w.Property("linux,initrd-start", start).Property("linux,initrd-end", end);
        // As a boot loader would: entropy for KASLR (which Debian's kernel turns on, with KPTI, when it gets
        // a seed) and for the early random pool.
        if (chosen.KaslrSeed is ulong seed) w.Property("kaslr-seed", seed);
        if (chosen.RngSeed is { } rng) w.Property("rng-seed", rng);
        w.EndNode();

        w.BeginNode("psci").Property("compatible", "arm,psci-1.0", "arm,psci-0.2").Property("method", "hvc").EndNode();

        w.BeginNode("cpus").Property("#address-cells", 1u).Property("#size-cells", 0u);
        for (int i = 0; i < plan.Cpus; i++)
        {
            // A cpu node's reg is its MPIDR affinity fields (Aff2–Aff0 with one address cell).
            uint affinity = (uint)(VcpuTopology.Mpidr(i) & 0xFF_FFFF);
            w.BeginNode($"cpu@{affinity:x}")
                .Property("device_type", "cpu").Property("compatible", "arm,cortex-a57")
                .Property("reg", affinity).Property("enable-method", "psci")
                .EndNode();
        }
        w.EndNode();

        foreach (var (b, size) in plan.Ram)
            w.BeginNode($"memory@{b:x}").Property("device_type", "memory").Property("reg", b, size).EndNode();

        foreach (var device in plan.Devices) device.WriteNode(w, links);

        if (partial is not null)
            foreach (var node in partial.Nodes) w.Node(node);

        w.EndNode();
        return w.Finish();
    }
}
