namespace Jit.Hypervisor.Tee;

/// <summary>
/// A buffer the guest gave for RPC arguments in answer to RPC_FUNC_ALLOC (CALL_WITH_ARG's way; Xen's shm_rpc): the
/// guest's IPA and cookie, and the shadow the secure world gets instead. Kept while the OS caches it (the shm
/// cache), until RPC_FUNC_FREE or DISABLE_SHM_CACHE gives it back; the slot and its shadow are reused.
/// </summary>
internal sealed class RpcArgBuffer
{
    public bool InUse { get; set; }
    public ulong Cookie { get; set; }
    public ulong GuestIpa { get; set; }
    public int Size { get; set; }
    public ShadowPage? Shadow { get; set; }
}
