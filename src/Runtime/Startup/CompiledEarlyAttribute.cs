namespace Jit.Runtime.Startup;

/// <summary>
/// A type whose methods a booting guest's vCPU calls in its first moments (the interpreter, the MMU, exception
/// entry, the system registers, the GIC, the console): <see cref="EarlyCompilation"/> has RyuJIT
/// compile them on a thread of its own while the machine is still being built, instead of on the vCPU at first
/// call.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class CompiledEarlyAttribute : Attribute;
