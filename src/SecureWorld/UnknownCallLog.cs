using Jit.Runtime;

namespace Jit.SecureWorld;

/// <summary>
/// Reports a function ID (or a command) that a service does not implement, once. The IDs already reported are kept
/// direct-mapped, so a guest that repeats one pays a compare, not a string and a dictionary lookup per call.
/// </summary>
internal sealed class UnknownCallLog(string service, string what = "function")
{
    private readonly uint[] reported = new uint[64];

    public void Report(uint functionId, string answer)
    {
        ref uint slot = ref reported[(int)(functionId ^ (functionId >> 24)) & 63];
        if (slot == functionId + 1) return;
        slot = functionId + 1;
        Log.Once($"{service}-{what}-{functionId:x8}", $"{service}: {what} 0x{functionId:x8} is not implemented; answered {answer}");
    }
}
