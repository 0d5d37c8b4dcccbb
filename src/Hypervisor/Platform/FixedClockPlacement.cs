using Jit.Hypervisor.DeviceTree;

namespace Jit.Hypervisor.Platform;

/// <summary>The 24 MHz fixed clock that the PrimeCell devices' drivers ask for (their apb_pclk and uartclk).</summary>
public sealed record FixedClockPlacement : PlatformDevice
{
    public const uint Frequency = 24_000_000;

    public override string NodeName => "apb-pclk";

    public override void WriteNode(FdtWriter w, DeviceTreeLinks links) =>
        w.BeginNode(NodeName)
            .Property("compatible", "fixed-clock").Property("#clock-cells", 0u)
            .Property("clock-frequency", Frequency).Property("clock-output-names", "clk24mhz")
            .Property("phandle", links.Clock)
            .EndNode();
}
