using Jit.Hypervisor.DeviceTree;

namespace Jit.Hypervisor.Platform;

/// <summary>
/// /firmware/optee for a domain with <c>tee = "optee"</c>: Linux's optee driver finds OP-TEE there
/// (linaro,optee-tz) and reaches it by SMC, which the hypervisor's mediator takes. No registers, no interrupt:
/// the driver asks for none without asynchronous notification.
/// </summary>
public sealed record OpteeFirmwarePlacement : PlatformDevice
{
    public override string NodeName => "firmware";

    public override void WriteNode(FdtWriter w, DeviceTreeLinks links) =>
        w.BeginNode(NodeName)
            .BeginNode("optee").Property("compatible", "linaro,optee-tz").Property("method", "smc").EndNode()
            .EndNode();
}
