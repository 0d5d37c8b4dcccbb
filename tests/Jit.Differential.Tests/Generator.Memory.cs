using Jit.Translator;
using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

public static partial class Generator
{
    // size:opc pairs of the single-register forms: stores, loads, and sign-extending loads to 64 and 32 bits.
    private static readonly (uint Size, uint Opc)[] singleForms =
    [
        (0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1), (2, 2), (3, 0), (3, 1),
    ];

    private static uint Imm9(Rng r) => r.Below(4) switch { 0 => 0, 1 => (uint)r.Range(-16, 16) & 0x1FF, _ => r.Bits(9) };

    /// <summary>A literal load alone, or one or two accesses of the other forms (often to overlapping bytes).</summary>
    private static TestCase LoadStoreSingle(CaseBuilder b)
    {
        if (b.R.Chance(18)) return Literal(b);
        int n = b.R.Chance(35) ? 2 : 1;
        for (int i = 0; i < n; i++) SingleAccess(b);
        return b.Finish();
    }

    private static void SingleAccess(CaseBuilder b)
    {
        var r = b.R;
        var (size, opc) = r.Pick(singleForms);
        int bytes = 1 << (int)size;
        uint rt = b.Reg(), rn = b.AddressReg();
        switch (r.Below(9))
        {
            case 0: case 1:
            {
                uint imm12 = r.Below(3) switch { 0 => 0, 1 => (uint)r.Below(16), _ => r.Bits(12) };
                ulong ea = b.SetBase(rn, (ulong)imm12 << (int)size, bytes, b.MaybeAligned(bytes));
                b.MaybePoke(ea, bytes);
                b.Emit(Op.LdStUimm, ("size", size), ("opc", opc), ("imm12", imm12), ("Rn", rn), ("Rt", rt));
                break;
            }
            case 2: case 3:
            {
                var (option, s, rm) = RegisterOffset(b, rn, size, bytes);
                b.Emit(Op.LdStReg, ("size", size), ("opc", opc), ("Rm", rm), ("option", option), ("S", s), ("Rn", rn), ("Rt", rt));
                break;
            }
            case 4: case 5:
            {
                uint imm9 = Imm9(r);
                ulong ea = b.SetBase(rn, (ulong)Bits.SignExtend(imm9, 9), bytes, b.MaybeAligned(bytes));
                b.MaybePoke(ea, bytes);
                b.Emit(r.Coin() ? Op.LdStUnscaled : Op.LdStUnpriv, ("size", size), ("opc", opc), ("imm9", imm9), ("Rn", rn), ("Rt", rt));
                break;
            }
            case 6: case 7:
            {
                // Writeback with Rn == Rt is CONSTRAINED UNPREDICTABLE.
                while (rn == rt && rn != 31) rt = b.Reg();
                uint imm9 = Imm9(r);
                bool pre = r.Coin();
                ulong ea = b.SetBase(rn, pre ? (ulong)Bits.SignExtend(imm9, 9) : 0, bytes, b.MaybeAligned(bytes));
                b.MaybePoke(ea, bytes);
                b.Emit(pre ? Op.LdStPre : Op.LdStPost, ("size", size), ("opc", opc), ("imm9", imm9), ("Rn", rn), ("Rt", rt));
                break;
            }
            default:
                switch (r.Below(3))
                {
                    case 0:
                    {
                        uint imm12 = r.Bits(12);
                        b.SetBase(rn, (ulong)imm12 << 3, 8, 1);
                        b.Emit(Op.PrfmImm, ("imm12", imm12), ("Rn", rn), ("Rt", b.Reg()));
                        break;
                    }
                    case 1:
                    {
                        uint imm9 = Imm9(r);
                        b.SetBase(rn, (ulong)Bits.SignExtend(imm9, 9), 8, 1);
                        b.Emit(Op.Prfum, ("imm9", imm9), ("Rn", rn), ("Rt", b.Reg()));
                        break;
                    }
                    default:
                    {
                        var (option, s, rm) = RegisterOffset(b, rn, 3, 8);
                        b.Emit(Op.PrfmReg, ("Rm", rm), ("option", option), ("S", s), ("Rn", rn), ("Rt", b.Reg()));
                        break;
                    }
                }
                break;
        }
        b.Reserve(rt, rn);
    }

    /// <summary>
    /// Index register, extend and shift for a register-offset access; the base is then whatever puts the
    /// address in the scratch area, so the index may be any value (the sum wraps modulo 2^64).
    /// </summary>
    private static (uint Option, uint S, uint Rm) RegisterOffset(CaseBuilder b, uint rn, uint size, int bytes)
    {
        var r = b.R;
        uint option = r.Pick([2u, 3u, 6u, 7u]);
        uint s = r.Bits(1);
        uint rm;
        do rm = b.AddressReg(); while (rm == rn);
        b.Reserve(rm);
        ulong index = 0;
        if (rm != 31)
        {
            ulong low = r.Chance(60) ? (ulong)(long)r.Range(-64, 64) : r.Next();
            // The W extends ignore the top half; noise there must not matter.
            index = (option & 1) == 0 ? (low & 0xFFFF_FFFF) | (r.Next() << 32) : low;
            b.Case.X[rm] = index;
        }
        ulong extended = option switch
        {
            2 => index & 0xFFFF_FFFF,
            6 => (ulong)(long)(int)index,
            _ => index,
        };
        ulong ea = b.SetBase(rn, extended << (s == 1 ? (int)size : 0), bytes, b.MaybeAligned(bytes));
        b.MaybePoke(ea, bytes);
        return (option, s, rm);
    }

    /// <summary>
    /// A literal load at offset P whose target is in the scratch area: P below its pages gives a forward offset,
    /// P above them a backward one.
    /// </summary>
    private static TestCase Literal(CaseBuilder b)
    {
        var r = b.R;
        uint p = r.Below(3) switch
        {
            0 => 0,
            1 => (uint)r.Range(1, (int)(Protocol.ScratchPages / 4) - 2) * 4,
            _ => (uint)r.Range((int)((Protocol.ScratchPages + Protocol.ScratchPagesSize) / 4), (int)(Protocol.CodeLimit / 4) - 2) * 4,
        };
        int form = r.Below(4);
        int bytes = form switch { 0 => 4, 1 => 8, 2 => 4, _ => 8 };
        ulong ea = b.PickEa(bytes, 4);
        b.MaybePoke(ea, bytes);
        uint imm19 = (uint)((long)(ea - Protocol.RegionBase - p) >> 2) & 0x7FFFF;
        uint rt = b.Reg();
        uint word = form switch
        {
            0 or 1 => b.Track(Op.LdrLit, ("sf", (uint)form), ("imm19", imm19), ("Rt", rt)),
            2 => b.Track(Op.LdrswLit, ("imm19", imm19), ("Rt", rt)),
            _ => b.Track(Op.PrfmLit, ("imm19", imm19), ("Rt", rt)),
        };
        if (p == 0)
        {
            b.EmitRaw(word);
            return b.Finish();
        }
        b.EmitRaw(Encoder.Branch(0, p));
        b.AddChunk(p, word, Protocol.EndWord);
        return b.Finish(appendEnd: false);
    }

    /// <summary>One pair access, or two (often to overlapping bytes).</summary>
    private static void LoadStorePair(CaseBuilder b)
    {
        int n = b.R.Chance(35) ? 2 : 1;
        for (int i = 0; i < n; i++) PairAccess(b);
    }

    private static void PairAccess(CaseBuilder b)
    {
        var r = b.R;
        int mode = r.Below(4); // 0 no-allocate, 1 post-index, 2 signed offset, 3 pre-index
        bool load = r.Coin();
        bool signed = load && mode != 0 && r.Chance(25);
        uint opc = signed ? 1 : r.Coin() ? 2u : 0u;
        int esize = opc == 2 ? 8 : 4;
        uint rt = b.Reg(), rt2 = b.Reg(), rn = b.AddressReg();
        // Loads into one register twice, and writeback into a transfer register, are CONSTRAINED UNPREDICTABLE.
        while (load && rt2 == rt) rt2 = b.Reg();
        while ((mode is 1 or 3) && rn != 31 && (rn == rt || rn == rt2)) rn = b.AddressReg();
        uint imm7 = r.Below(3) switch { 0 => 0, 1 => (uint)r.Range(-4, 4) & 0x7F, _ => r.Bits(7) };
        long offset = Bits.SignExtend(imm7, 7) * esize;
        ulong ea = b.SetBase(rn, mode == 1 ? 0 : (ulong)offset, 2 * esize, b.MaybeAligned(esize));
        b.MaybePoke(ea, esize);
        b.MaybePoke(ea + (ulong)esize, esize);
        Op op = (mode, load, signed) switch
        {
            (0, false, _) => Op.Stnp,
            (0, true, _) => Op.Ldnp,
            (1, false, _) => Op.StpPost,
            (1, true, false) => Op.LdpPost,
            (1, true, true) => Op.LdpswPost,
            (2, false, _) => Op.StpOff,
            (2, true, false) => Op.LdpOff,
            (2, true, true) => Op.LdpswOff,
            (3, false, _) => Op.StpPre,
            (3, true, false) => Op.LdpPre,
            _ => Op.LdpswPre,
        };
        if (signed) b.Emit(op, ("imm7", imm7), ("Rt2", rt2), ("Rn", rn), ("Rt", rt));
        else b.Emit(op, ("opc", opc), ("imm7", imm7), ("Rt2", rt2), ("Rn", rn), ("Rt", rt));
        b.Reserve(rt, rt2, rn);
    }

    /// <summary>
    /// Exclusive and ordered accesses, alone or as the LDXR/STXR pairs software uses (always the same address
    /// and size, since anything else is CONSTRAINED UNPREDICTABLE). Register choices keep the base intact.
    /// </summary>
    private static void LoadStoreExclusive(CaseBuilder b)
    {
        var r = b.R;
        bool pair = r.Chance(30);
        uint size = pair ? r.Bits(1) : r.Bits(2); // for pairs: sz (0: two W, 1: two X)
        int bytes = pair ? 8 << (int)size : 1 << (int)size;
        uint rn = b.Reg();
        ulong ea = b.SetBase(rn, 0, bytes, bytes);
        b.MaybePoke(ea, Math.Min(bytes, 8));
        if (bytes == 16) b.MaybePoke(ea + 8, 8);

        uint Other(params uint[] avoid)
        {
            uint x;
            do x = b.Reg(); while (avoid.Contains(x) || x == rn);
            return x;
        }

        void Load(bool acquire)
        {
            uint rt = Other(), rt2 = Other(rt);
            if (pair) b.Emit(acquire ? Op.Ldaxp : Op.Ldxp, ("sz", size), ("Rs", 31), ("Rt2", rt2), ("Rn", rn), ("Rt", rt));
            else b.Emit(acquire ? Op.Ldaxr : Op.Ldxr, ("size", size), ("Rs", 31), ("Rt2", 31), ("Rn", rn), ("Rt", rt));
        }

        void Store(bool release)
        {
            uint rt = b.Reg(), rt2 = b.Reg();
            uint rs = Other(rt, rt2);
            if (pair) b.Emit(release ? Op.Stlxp : Op.Stxp, ("sz", size), ("Rs", rs), ("Rt2", rt2), ("Rn", rn), ("Rt", rt));
            else b.Emit(release ? Op.Stlxr : Op.Stxr, ("size", size), ("Rs", rs), ("Rt2", 31), ("Rn", rn), ("Rt", rt));
        }

        switch (r.Below(8))
        {
            case 0: case 1: case 2:
                Load(r.Coin());
                // Unrelated work between the pair must not break it.
                if (r.Chance(30)) b.EmitRaw(Encoder.AddImm64((int)Other(31), (int)b.Reg(), r.Bits(12)));
                Store(r.Coin());
                break;
            case 3:
                Load(r.Coin());
                Store(r.Coin());
                Store(r.Coin());
                break;
            case 4:
                Load(r.Coin());
                b.Emit(Op.Clrex, ("CRm", r.Bits(4)));
                Store(r.Coin());
                break;
            case 5:
                if (r.Coin()) Store(r.Coin()); else Load(r.Coin());
                break;
            default:
            {
                // LDAR/STLR have no pair form: fall back to a single register of up to 8 bytes.
                uint single = pair ? 2 + size : size;
                int n = r.Range(1, 2);
                for (int i = 0; i < n; i++)
                {
                    uint rt = Other();
                    b.Emit(r.Coin() ? Op.Ldar : Op.Stlr, ("size", single), ("Rs", 31), ("Rt2", 31), ("Rn", rn), ("Rt", rt));
                }
                break;
            }
        }
    }

    private static readonly Op[] atomicOps = [Op.Ldadd, Op.Ldclr, Op.Ldeor, Op.Ldset, Op.Ldsmax, Op.Ldsmin, Op.Ldumax, Op.Ldumin, Op.Swp];

    private static void Atomics(CaseBuilder b)
    {
        var r = b.R;
        uint rn = b.Reg();
        switch (r.Below(5))
        {
            case 0: case 1: case 2:
            {
                uint size = r.Bits(2);
                int bytes = 1 << (int)size;
                ulong ea = b.SetBase(rn, 0, bytes, bytes);
                b.MaybePoke(ea, bytes);
                b.Emit(r.Pick(atomicOps), ("size", size), ("A", r.Bits(1)), ("R", r.Bits(1)), ("Rs", b.Reg()), ("Rn", rn), ("Rt", b.Reg()));
                break;
            }
            case 3:
            {
                uint size = r.Bits(2);
                int bytes = 1 << (int)size;
                ulong ea = b.SetBase(rn, 0, bytes, bytes);
                b.MaybePoke(ea, bytes);
                uint rs = b.Reg();
                // Half the time the compare value matches memory (in the low bytes; the rest is noise).
                if (rs != 31 && rs != rn && r.Coin())
                    b.Case.X[rs] = (b.Case.X[rs] & ~Bits.Ones(8 * bytes)) | b.Peek(ea, bytes);
                b.Emit(Op.Cas, ("size", size), ("L", r.Bits(1)), ("Rs", rs), ("o0", r.Bits(1)), ("Rn", rn), ("Rt", b.Reg()));
                break;
            }
            default:
            {
                uint sz = r.Bits(1);
                int esize = 4 << (int)sz;
                ulong ea = b.SetBase(rn, 0, 2 * esize, 2 * esize);
                b.MaybePoke(ea, esize);
                b.MaybePoke(ea + (ulong)esize, esize);
                uint rs = r.Bits(4) * 2, rt = r.Bits(4) * 2;
                if (r.Coin())
                    for (uint i = 0; i < 2; i++)
                    {
                        uint reg = rs + i;
                        if (reg == 31 || reg == rn) continue;
                        ulong mem = b.Peek(ea + i * (ulong)esize, esize);
                        b.Case.X[reg] = esize == 8 ? mem : (b.Case.X[reg] & ~0xFFFF_FFFFUL) | mem;
                    }
                b.Emit(Op.Casp, ("sz", sz), ("L", r.Bits(1)), ("Rs", rs), ("o0", r.Bits(1)), ("Rn", rn), ("Rt", rt));
                break;
            }
        }
    }
}
