using Jit.Translator.Decoder;

namespace Jit.Translator.Tests;

public class DecoderTests
{
    [Theory]
    [InlineData(0x91000420u, Op.AddImm)]     // add x0, x1, #1
    [InlineData(0xd503201fu, Op.Hint)]       // nop
    [InlineData(0xf9400020u, Op.LdStUimm)]   // ldr x0, [x1]
    [InlineData(0xd65f03c0u, Op.Ret)]
    [InlineData(0x1e602820u, Op.Fadd)]       // fadd d0, d1, d0
    [InlineData(0x3dc00400u, Op.LdStFpUimm)] // ldr q0, [x0, #16]
    [InlineData(0x93407c00u, Op.Sbfm)]       // sxtw x0, w0
    [InlineData(0x00000000u, Op.Udf)]
    [InlineData(0xd9600000u, Op.Ldg)]        // ldg x0, [x0]
    [InlineData(0xd9e00800u, Op.Stz2g)]      // stz2g x0, [x0]
    [InlineData(0x9ac11000u, Op.Irg)]        // irg x0, x0, x1
    [InlineData(0x19010443u, Op.Cpyf)]       // cpyfp [x3]!, [x1]!, x2!
    [InlineData(0x1d010443u, Op.Cpy)]        // cpyp [x3]!, [x1]!, x2!
    [InlineData(0x19c14443u, Op.Set)]        // setm [x3]!, x2!, x1
    [InlineData(0xd50330ffu, Op.Sb)]
    public void DecodesForm(uint word, Op op) => Assert.Equal(op, A64Decoder.Decode(word).Op);

    [Theory]
    [InlineData(0x12400000u)] // AND (immediate) with sf=0, N=1
    [InlineData(0x0bc00000u)] // ADD (shifted register) with shift=11
    [InlineData(0x083ffca5u)] // CASP with odd Rs/Rt
    [InlineData(0x59010443u)] // CPYFP with sz != 00
    [InlineData(0x19010423u)] // CPYFP with Rs == Rn
    public void RejectsUnallocated(uint word) => Assert.Equal(Op.Undefined, A64Decoder.Decode(word).Op);

    [Fact]
    public void EveryRowDecodesItsOwnPattern()
    {
        // Each row's fixed bits with all fields zero must reach that row: an earlier row must not shadow it.
        foreach (var row in A64Table.Rows)
        {
            uint word = row.Value;
            if (row.Op is Op.Rev) word |= 1u << 31 | 1u << 10;
            if (!row.Matches(word)) continue;
            // The not-implemented catch-alls stand behind the real rows, which are meant to shadow them.
            if (row.Op is Op.SimdFp or Op.SimdFpLoadStore or Op.Sve) continue;
            Assert.Equal(row.Op, A64Decoder.Decode(word).Op);
        }
    }
}
