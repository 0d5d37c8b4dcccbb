namespace Jit.Translator.Tier1.Inspection;

/// <summary>
/// A block compiled for inspection: the delegate (hold it while its machine code is read), how many guest instructions
/// (over the region's members) it covers, and the IL it was built from.
/// </summary>
public sealed class CompiledIl(CompiledBlock code, int guestInstructions, IlRecorder recorder)
{
    public CompiledBlock Code { get; } = code;
    /// <summary>The DynamicMethod's name, which the runtime's JIT events report.</summary>
    public string MethodName { get; } = code.Method.Name;
    public int GuestInstructions { get; } = guestInstructions;
    public string Listing { get; } = recorder.Listing();
    public int IlOps { get; } = recorder.Ops;
    public int IlBytes { get; } = recorder.IlBytes;

    /// <summary>Makes RyuJIT compile the method on this thread: a null state returns at once, as for the background compiler.</summary>
    public unsafe void ForceCompile() => Code.Invoke(null, null!, null, null, 0, 0);
}
