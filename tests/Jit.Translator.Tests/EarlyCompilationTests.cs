using System.Runtime.CompilerServices;
using Jit.Runtime.Startup;
using Xunit;

namespace Jit.Translator.Tests;

public class EarlyCompilationTests
{
    [CompiledEarly]
    private static class Marked
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static ulong Mix(ulong a, ulong b) => (a * 0x9E3779B97F4A7C15UL) ^ (b >> 7);

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Count(ReadOnlySpan<byte> bytes)
        {
            int n = 0;
            foreach (byte b in bytes) n += b & 1;
            return n;
        }
    }

    private static class Unmarked
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static ulong Mix(ulong a, ulong b) => (a * 31) ^ (b << 3);
    }

    [Fact]
    public void MarkedTypesRunWithoutCompilingAtTheirFirstCall()
    {
        int compiled = EarlyCompilation.Compile([typeof(EarlyCompilationTests).Assembly]);
        Assert.True(compiled >= 2, $"compiled {compiled} methods");

        long before = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true);
        ulong mixed = Marked.Mix(3, 1000);
        int odd = Marked.Count([1, 2, 3, 5]);
        Assert.Equal(before, System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true));
        Assert.Equal(unchecked(3 * 0x9E3779B97F4A7C15UL) ^ (1000UL >> 7), mixed);
        Assert.Equal(3, odd);

        // The counter does see a first call's compilation: an unmarked type is compiled only when called.
        Unmarked.Mix(1, 2);
        Assert.True(System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true) > before);
    }

    [Theory]
    [InlineData(typeof(Jit.Translator.Interpreter.BlockInterpreter))]
    [InlineData(typeof(Jit.Runtime.Memory.Mmu))]
    [InlineData(typeof(Jit.Runtime.Memory.SoftTlb))]
    [InlineData(typeof(Jit.Runtime.Exceptions.ExceptionEntry))]
    [InlineData(typeof(Jit.Runtime.SystemRegisters.SystemRegisterFile))]
    public void TheVcpusFirstCalledTypesAreMarked(Type type) =>
        Assert.True(type.IsDefined(typeof(CompiledEarlyAttribute), inherit: false), $"{type.Name} lacks [CompiledEarly]");
}
