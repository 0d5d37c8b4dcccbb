using Jit.Translator.Decoder;

namespace Jit.Differential.Tests;

/// <summary>Checks on the generator alone (no qemu): it reaches every form it should, and only valid words.</summary>
public class GeneratorTests
{
    // Forms that trap, leave user mode or have no user-visible result, and the classes and extensions that
    // execute as Undefined for now.
    private static readonly Op[] notGenerated =
    [
        Op.Undefined, Op.Svc, Op.Hvc, Op.Smc, Op.Brk, Op.Hlt, Op.Dcps1, Op.Dcps2, Op.Dcps3, Op.MsrImm, Op.Sys, Op.Sysl,
        Op.Eret, Op.Drps, Op.Udf, Op.Sve, Op.SimdFp, Op.SimdFpLoadStore,
        Op.Stg, Op.Stzg, Op.St2g, Op.Stz2g, Op.Ldg, Op.Stgm, Op.Stzgm, Op.Ldgm, Op.Stgp, Op.Irg, Op.Gmi, Op.Subp, Op.Subps,
        Op.Addg, Op.Subg, Op.Cpyf, Op.Cpy, Op.Set, Op.Setg, Op.Sb, Op.DsbNxs, Op.Wfet, Op.Wfit,
        // Range markers of the FP and AdvSIMD Op values, not forms.
        Op.FpFirst, Op.SimdFirst, Op.OpsEnd,
    ];

    [Fact]
    public void EveryFormIsGeneratedAndDecodesAsMeant()
    {
        var seen = new HashSet<Op>();
        foreach (var cls in Enum.GetValues<InstructionClass>())
            for (int i = 0; i < 2000; i++)
            {
                var c = Generator.Make(cls, i, Rng.Derive(42, (ulong)(i * 16 + (int)cls)));
                foreach (var (word, op) in c.Intended)
                {
                    Assert.True(A64Decoder.Decode(word).Op == op, $"{cls} case {i}: {word:x8} decodes as {A64Decoder.Decode(word).Op}, meant {op}");
                    seen.Add(op);
                }
                Assert.All(c.Chunks, k => Assert.True(k.Offset + 4 * k.Words.Length <= Protocol.CodeLimit));
            }
        var missing = Enum.GetValues<Op>().Except(notGenerated).Except(seen).ToArray();
        Assert.True(missing.Length == 0, "never generated: " + string.Join(", ", missing));
    }

    [Fact]
    public void CasesAreAFunctionOfTheirSeed()
    {
        var a = Generator.Make(InstructionClass.LoadStoreSingle, 7, 1234);
        var b = Generator.Make(InstructionClass.LoadStoreSingle, 7, 1234);
        Assert.Equal(a.X, b.X);
        Assert.Equal(a.Scratch, b.Scratch);
        Assert.Equal(a.Chunks.SelectMany(k => k.Words), b.Chunks.SelectMany(k => k.Words));
    }
}
