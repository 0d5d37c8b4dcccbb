using System.Diagnostics;
using System.Text.RegularExpressions;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Memory;
using Jit.Hypervisor.Tee;
using Jit.Hypervisor.Toolstack;
using Jit.SecureWorld;
using Xunit.Abstractions;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>
/// Issue 14's malicious guests, end to end: guests/sys/teehostile is a hostile OP-TEE client through real SMC and
/// HVC instructions (argument structs and page lists outside its RAM, in MMIO and at the neighbour's machine
/// address, looping, truncated and oversized lists, bogus cookies, stray RETURN_FROM_RPCs, then 10^6 calls with
/// random function IDs and arguments), each specific case checked in the guest for its specified error. It runs
/// on one host beside guests/sys/tee-latency soaking as a well-behaved client of the same modelled OP-TEE.
/// </summary>
public class TeeHostileGuestTests(ITestOutputHelper output)
{
    /// <summary>The guest's default: the whole 10^6 fits, about a second in tier 1 and two in tier 0.</summary>
    private const int RandomCalls = 1_000_000;

    [Fact]
    public void AHostileClientGetsItsErrorsLeavesItsNeighbourAloneAndNothingInTheSecureWorld()
    {
        string hostileElf = TestProcess.Guest("teehostile", "sys-teehostile.elf");
        string neighbourElf = TestProcess.Guest("tee", "sys-tee-latency.elf");
        string folder = Directory.CreateTempSubdirectory("jit-teehostile-").FullName;
        try
        {
            using var host = new Host(folder);
            var events = new List<string>();
            host.Logged += line => { lock (events) events.Add(line); };
            var os = host.SecureWorld.TrustedOs;

            // The neighbour measures, then soaks: a fast call, a null invoke and a checked value echo, round after round.
            var neighbour = host.Create(Config("neighbour", neighbourElf, "tee.soak=600"));
            WaitFor(neighbour, "tee-latency soak 1:", 1);

            // The hostile guest is told where the neighbour's RAM is in machine space, and uses it as an IPA.
            ulong foreign = host.HostMachine.Memory.Regions.First(r => r.Kind == MachineRegionKind.DomainRam && r.DomId == neighbour.DomId).Base;
            var clock = Stopwatch.StartNew();
            var hostile = host.Create(Config("hostile", hostileElf, $"teehostile.foreign=0x{foreign:x} teehostile.calls={RandomCalls}"));
            uint client = SecureCall.ClientIdForDomain(hostile.DomId);
            string log = WaitFor(hostile, "TEEHOSTILE-DONE", 1);
            while (hostile.State == DomainState.Running && clock.Elapsed < Patience) Thread.Sleep(20);
            output.WriteLine($"hostile guest: {clock.Elapsed.TotalSeconds:F1} s wall");
            foreach (string line in log.Split('\n').Where(l => l.StartsWith("TEEHOSTILE", StringComparison.Ordinal) || l.StartsWith("teehostile: ", StringComparison.Ordinal)))
                output.WriteLine(line.TrimEnd());

            // Every specific case got its specified answer, every random call returned, the canary survived, and the
            // emulator raised nothing: the domain powered off by itself.
            var summary = Regex.Match(log, @"TEEHOSTILE-SUMMARY checks=(\d+) failed=(\d+) calls=(\d+) returned=(\d+)");
            Assert.True(summary.Success, $"no summary:\n{log}");
            Assert.True(int.Parse(summary.Groups[1].Value) >= 300, $"only {summary.Groups[1].Value} checks ran");
            Assert.Equal("0", summary.Groups[2].Value);
            Assert.Equal($"{RandomCalls}", summary.Groups[3].Value);
            Assert.Equal($"{RandomCalls}", summary.Groups[4].Value);
            Assert.Contains("after the random calls, a well-behaved client: ok", log);
            Assert.Contains("TEEHOSTILE-DONE canary=ok", log);
            Assert.DoesNotContain("FAIL", log);
            Assert.Equal(DomainState.Shutdown, hostile.State);
            Assert.Null(hostile.CrashReason);

            // It left a session, a registered buffer and a call waiting at an RPC, in the OS and in its mediator.
            var mediator = (OpteeMediator)hostile.Domain.Tee!;
            Assert.True(os.SessionCount(client) >= 1 && os.SharedMemoryCount(client) >= 1 && os.BusyThreadCount(client) >= 1,
                $"the OS holds sessions {os.SessionCount(client)}, buffers {os.SharedMemoryCount(client)}, busy threads {os.BusyThreadCount(client)}");
            Assert.True(mediator.SessionCount >= 1 && mediator.SharedBufferCount >= 1 && mediator.CallsInFlight >= 1);

            // Destroyed, it leaves nothing: no client, sessions, buffers or threads in the OS, no shadows or records
            // in the mediator, no machine memory.
            Assert.True(host.Destroy(hostile));
            Assert.False(os.HasClient(client));
            Assert.DoesNotContain(client, os.ClientIds);
            Assert.Equal(0, os.SessionCount(client) + os.SharedMemoryCount(client) + os.BusyThreadCount(client));
            Assert.Equal(0, mediator.SessionCount + mediator.SharedBufferCount + mediator.SharedPageCount + mediator.CallsInFlight
                + mediator.RpcArgBufferCount + mediator.ShadowPages);
            Assert.DoesNotContain(host.HostMachine.Memory.Regions, r => r.DomId == hostile.DomId);

            // The neighbour soaked through all of it with every answer right, and goes on after the destruction.
            int rounds = Count(ReadLog(neighbour), "tee-latency soak ");
            string neighbourLog = WaitFor(neighbour, "tee-latency soak ", rounds + 2);
            output.WriteLine(neighbourLog.Split('\n').Last(l => l.StartsWith("tee-latency soak", StringComparison.Ordinal)).TrimEnd());
            Assert.DoesNotContain("FAIL", neighbourLog);
            Assert.Equal(DomainState.Running, neighbour.State);
            Assert.True(os.HasClient(SecureCall.ClientIdForDomain(neighbour.DomId)));
            lock (events) Assert.DoesNotContain(events, e => e.Contains("crashed", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static DomainConfig Config(string name, string kernel, string cmdline) => new()
    {
        Source = "test", Name = name, Kernel = kernel, Cmdline = cmdline, MemoryMiB = 64, MaxMemoryMiB = 64, Vcpus = 1,
        Tee = TeeKind.Optee, OnPoweroff = ShutdownAction.Preserve, OnCrash = ShutdownAction.Preserve,
    };

    private static string ReadLog(HostedDomain d)
    {
        using var f = new FileStream(d.Console.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(f).ReadToEnd();
    }

    private static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;

    /// <summary>How long either guest may take to print what is waited for: both take seconds.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Waits until <paramref name="what"/> is in the domain's console log <paramref name="times"/> times; returns the log.</summary>
    private static string WaitFor(HostedDomain d, string what, int times)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // The state first: a domain that had stopped before the log was read has written all of it.
            bool running = d.State == DomainState.Running;
            string log = ReadLog(d);
            if (Count(log, what) >= times) return log;
            Assert.True(clock.Elapsed < Patience && running,
                $"'{what}' x{times} not in {d.Name}'s console after {clock.Elapsed.TotalSeconds:F0} s ({d.State}):\n{log}");
            Thread.Sleep(50);
        }
    }
}
