using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

public static partial class Generator
{
    private static readonly Op[] addSubImm = [Op.AddImm, Op.AddsImm, Op.SubImm, Op.SubsImm];
    private static readonly Op[] logicalImm = [Op.AndImm, Op.OrrImm, Op.EorImm, Op.AndsImm];
    private static readonly Op[] moveWide = [Op.Movn, Op.Movz, Op.Movk];
    private static readonly Op[] logicalReg = [Op.AndReg, Op.BicReg, Op.OrrReg, Op.OrnReg, Op.EorReg, Op.EonReg, Op.AndsReg, Op.BicsReg];
    private static readonly Op[] addSubReg = [Op.AddReg, Op.AddsReg, Op.SubReg, Op.SubsReg];
    private static readonly Op[] addSubExt = [Op.AddExt, Op.AddsExt, Op.SubExt, Op.SubsExt];
    private static readonly Op[] withCarry = [Op.Adc, Op.Adcs, Op.Sbc, Op.Sbcs];
    private static readonly Op[] shiftVar = [Op.Lslv, Op.Lsrv, Op.Asrv, Op.Rorv];
    private static readonly Op[] bitfield = [Op.Sbfm, Op.Bfm, Op.Ubfm];
    private static readonly Op[] condCompare = [Op.CcmnReg, Op.CcmpReg, Op.CcmnImm, Op.CcmpImm];
    private static readonly Op[] condSelect = [Op.Csel, Op.Csinc, Op.Csinv, Op.Csneg];
    private static readonly Op[] mulAdd = [Op.Madd, Op.Msub];
    private static readonly Op[] mulLong = [Op.Smaddl, Op.Smsubl, Op.Umaddl, Op.Umsubl];

    private static uint Imm12(Rng r) => r.Below(5) switch { 0 => 0, 1 => 0xFFF, 2 => (uint)r.Range(1, 16), _ => r.Bits(12) };

    /// <summary>
    /// A valid logical immediate: element size 2..64, a run of s+1 ones (never all ones) rotated by r. The
    /// bits of immr above the element size are ignored by the architecture, so they are sometimes set.
    /// </summary>
    private static (uint N, uint Immr, uint Imms) LogicalImmediate(Rng r, bool is64)
    {
        int len = r.Range(1, is64 ? 6 : 5);
        int esize = 1 << len;
        uint ones = (uint)r.Below(esize - 1);
        uint imms = ((uint)~(esize * 2 - 1) & 0x3F) | ones;
        uint immr = (uint)r.Below(esize);
        if (r.Chance(20)) immr |= r.Bits(6) & ~(uint)(esize - 1);
        return (len == 6 ? 1u : 0u, immr, imms);
    }

    private static void AluImmediate(CaseBuilder b)
    {
        var r = b.R;
        uint sf = r.Bits(1);
        switch (r.Below(8))
        {
            case 0:
                b.Emit(r.Coin() ? Op.Adr : Op.Adrp, ("immlo", r.Bits(2)), ("immhi", r.Bits(19)), ("Rd", b.Reg()));
                break;
            case 1: case 2: case 3:
                b.Emit(r.Pick(addSubImm), ("sf", sf), ("sh", r.Bits(1)), ("imm12", Imm12(r)), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            case 4: case 5: case 6:
            {
                var (n, immr, imms) = LogicalImmediate(r, sf == 1);
                b.Emit(r.Pick(logicalImm), ("sf", sf), ("N", n), ("immr", immr), ("imms", imms), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            }
            default:
            {
                uint imm16 = r.Below(4) switch { 0 => 0, 1 => 0xFFFF, 2 => 0x8000, _ => r.Bits(16) };
                b.Emit(r.Pick(moveWide), ("sf", sf), ("hw", sf == 1 ? r.Bits(2) : r.Bits(1)), ("imm16", imm16), ("Rd", b.Reg()));
                break;
            }
        }
    }

    private static void AluRegister(CaseBuilder b)
    {
        var r = b.R;
        uint sf = r.Bits(1);
        int width = sf == 1 ? 64 : 32;
        switch (r.Below(6))
        {
            case 0: case 1:
                b.Emit(r.Pick(logicalReg), ("sf", sf), ("shift", r.Bits(2)), ("imm6", Amount(r, width)),
                    ("Rm", b.Reg()), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            case 2:
                b.Emit(r.Pick(addSubReg), ("sf", sf), ("shift", (uint)r.Below(3)), ("imm6", Amount(r, width)),
                    ("Rm", b.Reg()), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            case 3:
                b.Emit(r.Pick(addSubExt), ("sf", sf), ("option", r.Bits(3)), ("imm3", (uint)r.Below(5)),
                    ("Rm", b.Reg()), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            case 4:
                b.Emit(r.Pick(withCarry), ("sf", sf), ("Rm", b.Reg()), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            default:
            {
                uint rm = b.Reg();
                // Shift counts are taken modulo the width; small counts and counts past the width both matter.
                if (rm != 31 && r.Coin()) b.Case.X[rm] = r.Chance(70) ? (ulong)r.Below(70) : r.Next();
                b.Emit(r.Pick(shiftVar), ("sf", sf), ("Rm", rm), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            }
        }
    }

    private static void Bitfield(CaseBuilder b)
    {
        var r = b.R;
        uint sf = r.Bits(1);
        int width = sf == 1 ? 64 : 32;
        if (r.Below(4) == 0)
            b.Emit(Op.Extr, ("sf", sf), ("N", sf), ("Rm", b.Reg()), ("imms", Amount(r, width)), ("Rn", b.Reg()), ("Rd", b.Reg()));
        else
            b.Emit(r.Pick(bitfield), ("sf", sf), ("N", sf), ("immr", Amount(r, width)), ("imms", Amount(r, width)),
                ("Rn", b.Reg()), ("Rd", b.Reg()));
    }

    /// <summary>Conditional compares and selects, on random flags or on flags a compare just set.</summary>
    private static void Conditional(CaseBuilder b)
    {
        var r = b.R;
        if (r.Chance(30))
            b.Emit(r.Coin() ? Op.SubsReg : Op.AddsReg, ("sf", r.Bits(1)), ("shift", 0), ("imm6", 0),
                ("Rm", b.Reg()), ("Rn", b.Reg()), ("Rd", 31));
        int n = r.Range(1, 3);
        for (int i = 0; i < n; i++)
        {
            uint sf = r.Bits(1);
            Op op = r.Coin() ? r.Pick(condCompare) : r.Pick(condSelect);
            if (op is Op.CcmnImm or Op.CcmpImm)
                b.Emit(op, ("sf", sf), ("imm5", r.Bits(5)), ("cond", r.Bits(4)), ("Rn", b.Reg()), ("nzcv", r.Bits(4)));
            else if (op is Op.CcmnReg or Op.CcmpReg)
                b.Emit(op, ("sf", sf), ("Rm", b.Reg()), ("cond", r.Bits(4)), ("Rn", b.Reg()), ("nzcv", r.Bits(4)));
            else
                b.Emit(op, ("sf", sf), ("Rm", b.Reg()), ("cond", r.Bits(4)), ("Rn", b.Reg()), ("Rd", b.Reg()));
        }
    }

    private static void MulDiv(CaseBuilder b)
    {
        var r = b.R;
        switch (r.Below(5))
        {
            case 0:
                b.Emit(r.Pick(mulAdd), ("sf", r.Bits(1)), ("Rm", b.Reg()), ("Ra", b.Reg()), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            case 1:
                b.Emit(r.Pick(mulLong), ("Rm", b.Reg()), ("Ra", b.Reg()), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            case 2:
                // Ra is should-be-one in SMULH/UMULH.
                b.Emit(r.Coin() ? Op.Smulh : Op.Umulh, ("Rm", b.Reg()), ("Ra", 31), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            default:
            {
                uint rm = b.Reg();
                if (rm != 31 && r.Chance(25)) b.Case.X[rm] = r.Pick<ulong>([0UL, ulong.MaxValue, 0xFFFF_FFFF, 0x1_0000_0000]);
                b.Emit(r.Coin() ? Op.Udiv : Op.Sdiv, ("sf", r.Bits(1)), ("Rm", rm), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            }
        }
    }

    private static void Misc(CaseBuilder b)
    {
        var r = b.R;
        uint sf = r.Bits(1);
        switch (r.Below(7))
        {
            case 0: case 1:
            {
                uint sz = r.Bits(2);
                b.Emit(r.Coin() ? Op.Crc32 : Op.Crc32c, ("sf", sz == 3 ? 1u : 0u), ("Rm", b.Reg()), ("sz", sz), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            }
            case 2: b.Emit(Op.Rbit, ("sf", sf), ("Rn", b.Reg()), ("Rd", b.Reg())); break;
            case 3: b.Emit(Op.Rev16, ("sf", sf), ("Rn", b.Reg()), ("Rd", b.Reg())); break;
            case 4:
                if (r.Coin()) b.Emit(Op.Rev32, ("Rn", b.Reg()), ("Rd", b.Reg()));
                else b.Emit(Op.Rev, ("sf", sf), ("opc0", sf), ("Rn", b.Reg()), ("Rd", b.Reg()));
                break;
            case 5: b.Emit(Op.Clz, ("sf", sf), ("Rn", b.Reg()), ("Rd", b.Reg())); break;
            default: b.Emit(Op.Cls, ("sf", sf), ("Rn", b.Reg()), ("Rd", b.Reg())); break;
        }
    }
}
