using BenchmarkDotNet.Running;

namespace Jit.Benchmarks;

public static class Program
{
    /// <summary>BenchmarkDotNet's command line (<c>--filter</c>, <c>--list flat</c>, …) over <see cref="BenchConfig"/>.</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, BenchConfig.Create());
}
