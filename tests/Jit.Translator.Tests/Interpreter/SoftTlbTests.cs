using Jit.Runtime.Memory;

namespace Jit.Translator.Tests.Interpreter;

/// <summary>A flush must leave no translation behind, whether it clears the logged entries or every entry.</summary>
public unsafe class SoftTlbTests
{
    private static void FillEntries(SoftTlb tlb, int count)
    {
        for (int i = 0; i < count; i++)
        {
            TlbEntry* table = (i % 3) switch { 0 => tlb.Read, 1 => tlb.Write, _ => tlb.Fetch };
            TlbEntry* e = table + (i % SoftTlb.TotalEntries);
            e->Tag = (ulong)i << 12;
            tlb.NoteFill(e);
        }
    }

    private static int Valid(SoftTlb tlb)
    {
        int valid = 0;
        foreach (nint table in new[] { (nint)tlb.Read, (nint)tlb.Write, (nint)tlb.Fetch })
            for (int i = 0; i < SoftTlb.TotalEntries; i++)
                if (((TlbEntry*)table)[i].Tag != SoftTlb.Invalid) valid++;
        return valid;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(511)]
    [InlineData(512)]
    [InlineData(513)]
    [InlineData(5000)]
    public void FlushInvalidatesEveryFilledEntry(int fills)
    {
        using var tlb = new SoftTlb();
        Assert.Equal(0, Valid(tlb));
        for (int round = 0; round < 2; round++)
        {
            uint generation = tlb.Generation;
            FillEntries(tlb, fills);
            Assert.True(Valid(tlb) > 0);
            tlb.Flush();
            Assert.Equal(0, Valid(tlb));
            Assert.NotEqual(generation, tlb.Generation);
        }
    }
}
