using Jit.Hypervisor.Smccc;
using Jit.SecureWorld.Ffa;

namespace Jit.Hypervisor.Tee;

/// <summary>Memory shares: the guest's descriptor checked and translated into the shadow TX, and the domain's handles.</summary>
public sealed partial class FfaMediator
{
    // The domain's live shares, by handle, each with the IPAs of its pages; and all those pages, so that one
    // page is shared once at a time.
    private readonly Dictionary<ulong, ulong[]> shares = [];
    private readonly HashSet<ulong> sharedPages = [];
    // Scratch for one share: the guest's descriptor, and its pages as IPAs and as machine addresses.
    private readonly byte[] txCopy;
    private readonly ulong[] sharePages, shareMachine;
    private readonly HashSet<ulong> pending = [];

    public int ShareCount { get { lock (gate) return shares.Count; } }
    public int SharedPageCount { get { lock (gate) return sharedPages.Count; } }

    /// <summary>
    /// FFA_MEM_SHARE: w1 total length, w2 fragment length (the same: no fragments), w3/w4 zero (the descriptor is in
    /// the TX buffer). On SUCCESS the domain owns the handle in w2/w3 until it reclaims it.
    /// </summary>
    private void MemShare(ref SmcccCall c)
    {
        uint total = (uint)c.X1, fragment = (uint)c.X2;
        if (c.Arg(3) != 0 || (uint)c.X4 != 0 || fragment != total)
        {
            Error(ref c, fragment > total ? FfaAbi.InvalidParameters : FfaAbi.NotSupported);
            return;
        }
        int status = Translate(total, out int length);
        if (status != 0)
        {
            Error(ref c, status);
            return;
        }
        var smc = Secure(c.Is64 ? FfaAbi.MemShare64 : FfaAbi.MemShare32, (uint)length, (uint)length);
        if (Succeeded(smc))
        {
            int pages = pending.Count;
            ulong handle = (uint)smc.A2 | ((ulong)(uint)smc.A3 << 32);
            shares[handle] = sharePages.AsSpan(0, pages).ToArray();
            foreach (ulong page in sharePages.AsSpan(0, pages)) sharedPages.Add(page);
        }
        Return(ref c, in smc);
    }

    /// <summary>
    /// Copies the guest's descriptor out of its TX buffer, checks it, and writes it with machine addresses into the
    /// shadow TX, one constituent per machine-contiguous run: 0 and the rewritten length, or an FF-A error.
    /// </summary>
    private int Translate(uint total, out int length)
    {
        length = 0;
        pending.Clear();
        if (guestPages == 0) return FfaAbi.Denied;
        if (total < FfaMemoryTransaction.HeaderSize || total > (uint)(guestPages * FfaAbi.PageSize)) return FfaAbi.InvalidParameters;
        var copy = txCopy.AsSpan(0, (int)total);
        if (!ReadGuest(guestTx, copy)) return FfaAbi.Aborted;
        int status = FfaMemoryTransaction.Parse(copy, limits.MaxReceivers, limits.MaxRanges, out var t);
        if (status == 0) status = t.CheckShare();
        if (status != 0) return status;
        // The domain shares as itself, with partitions that exist.
        if (t.Sender != endpoint) return FfaAbi.InvalidParameters;
        for (int i = 0; i < t.ReceiverCount; i++)
            if (Array.IndexOf(partitions, t.Receiver(i)) < 0) return FfaAbi.InvalidParameters;
        if (t.TotalPages > (uint)limits.MaxSharePages || shares.Count >= limits.MaxShares
            || sharedPages.Count + (long)t.TotalPages > limits.MaxSharedPages)
            return FfaAbi.NoMemory;

        // Every page the domain's own RAM and not shared already (DENIED), none named twice (malformed).
        int n = 0;
        for (int r = 0; r < t.RangeCount; r++)
        {
            ulong start = t.RangeAddress(r);
            for (uint p = 0; p < t.RangePages(r); p++)
            {
                ulong ipa = start + ((ulong)p << 12);
                if (!ram.TryTranslate(ipa, out ulong machine) || sharedPages.Contains(ipa)) return FfaAbi.Denied;
                if (!pending.Add(ipa)) return FfaAbi.InvalidParameters;
                sharePages[n] = ipa;
                shareMachine[n++] = machine;
            }
        }
        int runs = 1;
        for (int i = 1; i < n; i++)
            if (shareMachine[i] != shareMachine[i - 1] + FfaAbi.PageSize) runs++;
        length = FfaMemoryTransaction.SizeOf(t.ReceiverCount, runs);
        if (length > ShadowSize) return FfaAbi.NoMemory;

        var shadowTx = ShadowTx;
        int at = FfaMemoryTransaction.Write(shadowTx, in t, (uint)n, runs);
        int run = 0, first = 0;
        for (int i = 1; i <= n; i++)
        {
            if (i < n && shareMachine[i] == shareMachine[i - 1] + FfaAbi.PageSize) continue;
            FfaMemoryTransaction.WriteRange(shadowTx, at, run++, shareMachine[first], (uint)(i - first));
            first = i;
        }
        return 0;
    }

    /// <summary>FFA_MEM_RECLAIM: only a handle of the domain's own goes to the SPMC.</summary>
    private void MemReclaim(ref SmcccCall c)
    {
        ulong handle = (uint)c.X1 | ((ulong)(uint)c.X2 << 32);
        if (!shares.TryGetValue(handle, out var pages))
        {
            Error(ref c, FfaAbi.InvalidParameters);
            return;
        }
        var smc = Secure(FfaAbi.MemReclaim, (uint)handle, handle >> 32, (uint)c.X3);
        if (Succeeded(smc))
        {
            shares.Remove(handle);
            foreach (ulong page in pages) sharedPages.Remove(page);
        }
        Return(ref c, in smc);
    }
}
