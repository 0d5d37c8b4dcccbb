using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

public static partial class Generator
{
    private static readonly Op[] branchForms = [Op.B, Op.Bl, Op.BCond, Op.Cbz, Op.Cbnz, Op.Tbz, Op.Tbnz, Op.Br, Op.Blr, Op.Ret];
    private static readonly Op[] flagSetters = [Op.SubsReg, Op.AddsReg, Op.AndsReg, Op.SubsImm];

    /// <summary>
    /// A branch at byte offset P with a fall-through path [orr M, #1; end] and a target path [orr M, #2; end]
    /// at T, so the marker register M shows which way it went (and X30 where it links). The path starts at Q,
    /// which is P or, when a flag-setting instruction feeds a B.cond, P-4; Q is reached from offset 0 through
    /// a plain B when it is not 0. T may lie before P, after it, or just past the branch (T = P+4 or P+8, with
    /// no chunk of its own). One case in five is a counted loop instead.
    /// </summary>
    private static TestCase Branch(CaseBuilder b)
    {
        var r = b.R;
        if (r.Chance(20)) return Loop(b);
        Op op = r.Pick(branchForms);
        int range = op switch
        {
            Op.Tbz or Op.Tbnz => 1 << 15,
            Op.BCond or Op.Cbz or Op.Cbnz => 1 << 20,
            _ => int.MaxValue,
        };
        uint prefix = op == Op.BCond && r.Chance(40) ? 4u : 0u;

        uint q, p, t;
        bool ownTarget;
        for (;;)
        {
            int kind = r.Below(4);
            q = kind == 0 || r.Chance(30) ? 0 : (uint)r.Range(1, (int)Protocol.CodeLimit / 4 - 5) * 4;
            p = q + prefix;
            ownTarget = true;
            switch (kind)
            {
                case 0: t = p + (uint)r.Range(1, 2) * 4; ownTarget = false; break;
                case 1: t = p + 12 + (uint)r.Below(16) * 4; break;
                case 2: t = q - 8 - (uint)r.Below(64) * 4; break;
                default: t = (uint)r.Below((int)Protocol.CodeLimit / 4 - 2) * 4; break;
            }
            if (!Free(q, p + 12 - q, q != 0)) continue;
            if (ownTarget && (!Free(t, 8, q != 0) || (t < p + 12 && t + 8 > q))) continue;
            if (Math.Abs((long)t - p) >= range) continue;
            break;
        }

        uint rt = b.Reg(), rn = (uint)r.Below(31);
        if (op == Op.Ret && r.Chance(60)) rn = 30;
        // The marker register must not be one the branch reads or links.
        uint m;
        do m = (uint)r.Below(30); while (m == rt || m == rn);
        b.Case.X[m] &= ~3UL;

        var path = new List<uint>();
        if (prefix != 0)
        {
            // Flags made in the same block as the B.cond that reads them; the result goes nowhere that matters.
            uint rd;
            do rd = b.Reg(); while (rd == m);
            Op setter = r.Pick(flagSetters);
            path.Add(setter == Op.SubsImm
                ? b.Track(setter, ("sf", r.Bits(1)), ("sh", 0), ("imm12", Imm12(r)), ("Rn", b.Reg()), ("Rd", rd))
                : b.Track(setter, ("sf", r.Bits(1)), ("shift", 0), ("imm6", 0), ("Rm", b.Reg()), ("Rn", b.Reg()), ("Rd", rd)));
        }

        uint imm(int bits) => (uint)((int)(t - p) >> 2) & (uint)((1 << bits) - 1);
        switch (op)
        {
            case Op.B: case Op.Bl:
                path.Add(b.Track(op, ("imm26", imm(26))));
                break;
            case Op.BCond:
                path.Add(b.Track(op, ("imm19", imm(19)), ("cond", r.Bits(4))));
                break;
            case Op.Cbz: case Op.Cbnz:
            {
                uint sf = r.Bits(1);
                if (rt != 31 && r.Chance(40)) b.Case.X[rt] = sf == 1 || r.Coin() ? 0 : b.Case.X[rt] & ~0xFFFF_FFFFUL;
                path.Add(b.Track(op, ("sf", sf), ("imm19", imm(19)), ("Rt", rt)));
                break;
            }
            case Op.Tbz: case Op.Tbnz:
            {
                uint bit = r.Bits(6);
                if (rt != 31 && r.Coin()) b.Case.X[rt] ^= 1UL << (int)bit;
                path.Add(b.Track(op, ("b5", bit >> 5), ("b40", bit & 31), ("imm14", imm(14)), ("Rt", rt)));
                break;
            }
            default:
                b.Case.X[rn] = Protocol.RegionBase + t;
                path.Add(b.Track(op, ("Rn", rn)));
                break;
        }
        path.Add(Encoder.OrrBit((int)m, 0));
        path.Add(Protocol.EndWord);

        if (q != 0) b.EmitRaw(Encoder.Branch(0, q));
        if (q == 0) foreach (uint w in path) b.EmitRaw(w);
        else b.AddChunk(q, [.. path]);
        if (ownTarget) b.AddChunk(t, Encoder.OrrBit((int)m, 1), Protocol.EndWord);
        return b.Finish(appendEnd: false);
    }

    // Conditions that end a count-down from a small positive number: NE, GE, GT, HI, PL.
    private static readonly uint[] loopConditions = [1, 10, 12, 8, 5];

    /// <summary>
    /// A counted loop: [add xA, xA, xB; subs xC, xC, #1; b.cond or cbnz back to the add; end], run 1 to 20
    /// times, so a backward branch is taken and then falls through, with flags made in the same block.
    /// </summary>
    private static TestCase Loop(CaseBuilder b)
    {
        var r = b.R;
        uint a = (uint)r.Below(31), x, c;
        do x = (uint)r.Below(32); while (x == a);
        do c = (uint)r.Below(31); while (c == a || c == x);
        b.Case.X[c] = (ulong)r.Range(1, 20);
        b.Emit(Op.AddReg, ("sf", 1), ("shift", 0), ("imm6", 0), ("Rm", x), ("Rn", a), ("Rd", a));
        b.Emit(Op.SubsImm, ("sf", r.Bits(1)), ("sh", 0), ("imm12", 1), ("Rn", c), ("Rd", c));
        uint back = 0x7FFFE; // -2 instructions
        if (r.Coin()) b.Emit(Op.BCond, ("imm19", back), ("cond", r.Pick(loopConditions)));
        else b.Emit(Op.Cbnz, ("sf", 1), ("imm19", back), ("Rt", c));
        return b.Finish();
    }

    /// <summary>Whether [offset, offset + length) is code area: below the stubs, off the scratch pages, past the jump at 0.</summary>
    private static bool Free(uint offset, uint length, bool jumpAtZero)
    {
        if (offset + length > Protocol.CodeLimit || offset >= Protocol.CodeLimit) return false;
        if (offset < Protocol.ScratchPages + Protocol.ScratchPagesSize && offset + length > Protocol.ScratchPages) return false;
        return !jumpAtZero || offset >= 4;
    }
}
