using Jit.Runtime;

namespace Jit.SecureWorld.Optee;

/// <summary>
/// Everything the OS holds for one normal-world client (a VM): its sessions, its registered shared memory by
/// cookie, its threads and their cached RPC buffers. Nothing here is reachable from another client, and
/// VM_DESTROYED drops all of it.
/// </summary>
internal sealed class OpteeClient
{
    public OpteeClient(uint id, OpteeOptions options)
    {
        Id = id;
        UnknownCalls = new($"OP-TEE (client {id})");
        UnknownCommands = new($"OP-TEE (client {id})", "message command");
        Threads = new OpteeThread[options.ThreadsPerClient];
        for (int i = 0; i < Threads.Length; i++) Threads[i] = new OpteeThread(i, options.RpcParamCount);
    }

    public uint Id { get; }

    /// <summary>Every call of this client runs under this lock; a call from another client never waits for it.</summary>
    public Lock Gate { get; } = new();

    /// <summary>Set under <see cref="Gate"/> by VM_DESTROYED; a call that found the client before must then give up.</summary>
    public bool Destroyed { get; set; }

    public Dictionary<uint, Session> Sessions { get; } = [];
    public Dictionary<ulong, SharedMemory> SharedMemory { get; } = [];
    public int SharedMemoryPages { get; set; }
    public OpteeThread[] Threads { get; }

    /// <summary>
    /// The unknown fast calls and message commands this client made, logged under its own limit: one client
    /// trying IDs at random must not use up what the others' diagnostics may log.
    /// </summary>
    public UnknownCallLog UnknownCalls { get; }
    public UnknownCallLog UnknownCommands { get; }

    /// <summary>ENABLE_SHM_CACHE: threads keep their RPC argument buffers between calls instead of freeing them.</summary>
    public bool ShmCacheEnabled { get; set; }

    /// <summary>One list page read at a time, for page lists (the client's calls are serialised by <see cref="Gate"/>).</summary>
    public byte[] PageListScratch { get; } = new byte[OpteeMsg.NoncontigPageSize];

    public OpteeThread? FreeThread()
    {
        foreach (var thread in Threads)
            if (thread.State == ThreadState.Free) return thread;
        return null;
    }

    public bool AnyThreadBusy()
    {
        foreach (var thread in Threads)
            if (thread.State != ThreadState.Free) return true;
        return false;
    }

    /// <summary>Whether a suspended call still refers to <paramref name="shm"/>, so it cannot be unregistered yet.</summary>
    public bool InUse(SharedMemory shm, OpteeThread? except)
    {
        foreach (var thread in Threads)
            if (thread != except && thread.State != ThreadState.Free && thread.Uses(shm)) return true;
        return false;
    }
}
