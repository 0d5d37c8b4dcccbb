using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

public static partial class Generator
{
    private static readonly Op[] branchForms = [Op.B, Op.Bl, Op.BCond, Op.Cbz, Op.Cbnz, Op.Tbz, Op.Tbnz, Op.Br, Op.Blr, Op.Ret];

    /// <summary>
    /// A branch at byte offset P with a fall-through path [orr M, #1; end] and a target path [orr M, #2; end]
    /// at T, so the marker register M shows which way it went (and X30 where it links). P is reached from
    /// offset 0 through a plain B when it is not 0; T may lie before P, after it, or just past the branch
    /// (T = P+4 or P+8, with no chunk of its own).
    /// </summary>
    private static TestCase Branch(CaseBuilder b)
    {
        var r = b.R;
        Op op = r.Pick(branchForms);
        int range = op switch
        {
            Op.Tbz or Op.Tbnz => 1 << 15,
            Op.BCond or Op.Cbz or Op.Cbnz => 1 << 20,
            _ => int.MaxValue,
        };

        uint p, t;
        bool ownTarget;
        for (;;)
        {
            int kind = r.Below(4);
            p = kind == 0 || r.Chance(30) ? 0 : (uint)r.Range(1, (int)Protocol.CodeLimit / 4 - 4) * 4;
            ownTarget = true;
            switch (kind)
            {
                case 0: t = p + (uint)r.Range(1, 2) * 4; ownTarget = false; break;
                case 1: t = p + 12 + (uint)r.Below(16) * 4; break;
                case 2: t = p - 8 - (uint)r.Below(64) * 4; break;
                default: t = (uint)r.Below((int)Protocol.CodeLimit / 4 - 2) * 4; break;
            }
            if (!Free(p, 12, p != 0)) continue;
            if (ownTarget && (!Free(t, 8, p != 0) || (t < p + 12 && t + 8 > p))) continue;
            if (Math.Abs((long)t - p) >= range) continue;
            break;
        }

        uint rt = b.Reg(), rn = (uint)r.Below(31);
        if (op == Op.Ret && r.Chance(60)) rn = 30;
        // The marker register must not be one the branch reads or links.
        uint m;
        do m = (uint)r.Below(30); while (m == rt || m == rn);
        b.Case.X[m] &= ~3UL;

        uint imm(int bits) => (uint)((int)(t - p) >> 2) & (uint)((1 << bits) - 1);
        uint word;
        switch (op)
        {
            case Op.B: case Op.Bl:
                word = b.Track(op, ("imm26", imm(26)));
                break;
            case Op.BCond:
                word = b.Track(op, ("imm19", imm(19)), ("cond", r.Bits(4)));
                break;
            case Op.Cbz: case Op.Cbnz:
            {
                uint sf = r.Bits(1);
                if (rt != 31 && r.Chance(40)) b.Case.X[rt] = sf == 1 || r.Coin() ? 0 : b.Case.X[rt] & ~0xFFFF_FFFFUL;
                word = b.Track(op, ("sf", sf), ("imm19", imm(19)), ("Rt", rt));
                break;
            }
            case Op.Tbz: case Op.Tbnz:
            {
                uint bit = r.Bits(6);
                if (rt != 31 && r.Coin()) b.Case.X[rt] ^= 1UL << (int)bit;
                word = b.Track(op, ("b5", bit >> 5), ("b40", bit & 31), ("imm14", imm(14)), ("Rt", rt));
                break;
            }
            default:
                b.Case.X[rn] = Protocol.RegionBase + t;
                word = b.Track(op, ("Rn", rn));
                break;
        }

        if (p != 0) b.EmitRaw(Encoder.Branch(0, p));
        var path = new[] { word, Encoder.OrrBit((int)m, 0), Protocol.EndWord };
        if (p == 0) foreach (uint w in path) b.EmitRaw(w);
        else b.AddChunk(p, path);
        if (ownTarget) b.AddChunk(t, Encoder.OrrBit((int)m, 1), Protocol.EndWord);
        return b.Finish(appendEnd: false);
    }

    /// <summary>Whether [offset, offset + length) is code area: below the stubs, off the scratch pages, past the jump at 0.</summary>
    private static bool Free(uint offset, uint length, bool jumpAtZero)
    {
        if (offset + length > Protocol.CodeLimit || offset >= Protocol.CodeLimit) return false;
        if (offset < Protocol.ScratchPages + Protocol.ScratchPagesSize && offset + length > Protocol.ScratchPages) return false;
        return !jumpAtZero || offset >= 4;
    }
}
