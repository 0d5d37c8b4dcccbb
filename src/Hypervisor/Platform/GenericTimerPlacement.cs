using Jit.Hypervisor.DeviceTree;

namespace Jit.Hypervisor.Platform;

/// <summary>The Arm generic timer: no registers to place, its four PPIs fixed by the architecture's usage (and Xen's).</summary>
public sealed record GenericTimerPlacement : PlatformDevice
{
    // INTIDs: EL2 physical, virtual, secure physical, non-secure physical.
    public const int HypervisorTimerPpi = 26, VirtualTimerPpi = 27, SecurePhysicalTimerPpi = 29, PhysicalTimerPpi = 30;

    public override string NodeName => "timer";

    public override void WriteNode(FdtWriter w, DeviceTreeLinks links)
    {
        const uint ppi = DeviceTreeLinks.Ppi, level = DeviceTreeLinks.LevelHigh;
        // The binding's order: secure physical, non-secure physical, virtual, hypervisor; PPI numbers from 16.
        w.BeginNode(NodeName)
            .Property("compatible", "arm,armv8-timer")
            .Property("interrupts",
                ppi, (uint)(SecurePhysicalTimerPpi - 16), level,
                ppi, (uint)(PhysicalTimerPpi - 16), level,
                ppi, (uint)(VirtualTimerPpi - 16), level,
                ppi, (uint)(HypervisorTimerPpi - 16), level)
            .EndNode();
    }
}
