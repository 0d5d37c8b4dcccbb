using Jit.SecureWorld.Optee;

namespace Jit.SecureWorld.TrustedApplications;

/// <summary>
/// The RNG TA that Linux's optee-rng driver (drivers/char/hw_random/optee-rng.c) binds to by its UUID:
/// TA_CMD_GET_ENTROPY fills an in/out memory reference and says how much it filled, TA_CMD_GET_RNG_INFO gives
/// the data rate and the entropy quality. The bytes come from an injected source, so an instruction-count run
/// can give it a fixed-seed stream.
/// </summary>
public sealed class RngTa(EntropySource entropy) : ITrustedApplication
{
    public static readonly Guid TaUuid = new("ab7a617c-b8e7-4d8f-8301-d09b61036b64");

    public const uint CmdGetEntropy = 0x0;
    public const uint CmdGetRngInfo = 0x1;

    /// <summary>Bytes per second, and entropy per 1024 bits of output (hwrng's quality, full here).</summary>
    public const uint DataRate = 1 << 20;
    public const uint Quality = 1024;

    /// <summary>The most one GET_ENTROPY returns (Linux asks for at most 4 KiB).</summary>
    public const int MaxRequest = 64 * 1024;

    public Guid Uuid => TaUuid;
    public string Name => "rng";
    public bool IsDevice => true;

    public TaReturn OpenSession(TaInvocation call) => TeeResult.Success;

    public TaReturn Invoke(TaInvocation call)
    {
        var p = call.Params;
        if (p[1].Type != TaParamType.None || p[2].Type != TaParamType.None || p[3].Type != TaParamType.None)
            return TeeResult.ErrorBadParameters;
        switch (call.Command)
        {
            case CmdGetEntropy:
                if (p[0].Type != TaParamType.MemrefInout || p[0].Buffer.IsNull) return TeeResult.ErrorBadParameters;
                return Fill(ref p[0]);
            case CmdGetRngInfo:
                if (p[0].Type != TaParamType.ValueOutput) return TeeResult.ErrorBadParameters;
                p[0].A = DataRate;
                p[0].B = Quality;
                return TeeResult.Success;
            default:
                return TeeResult.ErrorNotImplemented;
        }
    }

    private uint Fill(ref TaParam p)
    {
        int total = (int)Math.Min(p.Size, MaxRequest);
        Span<byte> chunk = stackalloc byte[256];
        for (int done = 0; done < total; done += chunk.Length)
        {
            var part = chunk[..Math.Min(chunk.Length, total - done)];
            entropy(part);
            if (!p.Buffer.Write((ulong)done, part)) return TeeResult.ErrorBadParameters;
        }
        chunk.Clear();
        p.Size = (ulong)total;
        return TeeResult.Success;
    }

    public void CloseSession(object? session) { }
}
