
namespace Jit.Hypervisor.Tests.SystemGuests;

/// <summary>
/// The system guests of guests/sys on the full platform (<c>jit run --kernel … --smp 2</c>): each prints one
/// line per check, and the lines must be the expected ones and, when qemu-system-aarch64 is installed, the
/// ones QEMU's virt machine prints for the same ELF.
/// </summary>
public class SystemGuestTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public void Exceptions() => Check("exceptions", """
        start
        svc #0x123: vector 4 EC 0x15 IL 1 ISS 0x123 ELR +4
        brk #0x42: vector 4 EC 0x3c IL 1 ISS 0x42 ELR +0
        hvc unknown function: x0 -1
        udf: vector 4 EC 0x0 IL 1 ISS 0x0 ELR +0
        load unclaimed: vector 4 EC 0x25 IL 1 ISS 0x10 ELR +0 FAR 0xb000008
        store unclaimed: vector 4 EC 0x25 IL 1 ISS 0x50 ELR +0 FAR 0xb000010
        misaligned load, SCTLR.A: vector 4 EC 0x25 IL 1 ISS 0x21 ELR +0 FAR buffer+0x4
        SP misaligned load: vector 0 EC 0x26 IL 1 ISS 0x0 ELR +0
        svc #7 from EL0: vector 8 EC 0x15 IL 1 ISS 0x7 ELR +4
        EL0 SPSR.M 0x0 x0 0x2a
        smc #0 from EL0: vector 8 EC 0x0 IL 1 ISS 0x0 ELR +0
        hvc #0 from EL0: vector 8 EC 0x0 IL 1 ISS 0x0 ELR +0
        end 0
        """,
        // QEMU's TCG does not implement the SP alignment check (SCTLR_EL1.SA): its run loads through the
        // misaligned SP without a fault.
        line => line.StartsWith("SP misaligned load:", StringComparison.Ordinal));

    [Fact]
    public void Mmu() => Check("mmu", """
        start
        mmu on: SCTLR.M 1
        alias read: read 0x1111
        alias write: write ok
        identity sees 0x2222
        ttbr1 read: read 0x1111
        ttbr1 invalid L3: vector 4 EC 0x25 FSC 0x7 WnR 0 S1PTW 0 FAR 0xffff000000001000
        invalid L0: vector 4 EC 0x25 FSC 0x4 WnR 0 S1PTW 0 FAR 0x8000000000
        invalid L1: vector 4 EC 0x25 FSC 0x5 WnR 0 S1PTW 0 FAR 0x10000000000
        invalid L2: vector 4 EC 0x25 FSC 0x6 WnR 0 S1PTW 0 FAR 0x10040000000
        invalid L3: vector 4 EC 0x25 FSC 0x7 WnR 0 S1PTW 0 FAR 0x10040200000
        outside both ranges: vector 4 EC 0x25 FSC 0x4 WnR 0 S1PTW 0 FAR 0x1000000000000
        store to invalid L2: vector 4 EC 0x25 FSC 0x6 WnR 1 S1PTW 0 FAR 0x10040000010
        access flag clear: vector 4 EC 0x25 FSC 0xb WnR 0 S1PTW 0 FAR 0x10040201000
        access flag set: read 0x1111
        read-only read: read 0x1111
        read-only write: vector 4 EC 0x25 FSC 0xf WnR 1 S1PTW 0 FAR 0x10040202000
        LDTR EL1-only: vector 4 EC 0x25 FSC 0xf WnR 0 S1PTW 0 FAR 0x10040203000
        LDTR EL0 page: read 0x1111
        EL1 exec: returned 77
        PXN exec: vector 4 EC 0x21 FSC 0xf WnR 0 S1PTW 0 FAR 0x10040205008
        EL0 exec: SVC ISS 0x9
        UXN exec from EL0: vector 8 EC 0x20 FSC 0xf WnR 0 S1PTW 0 FAR 0x10040206000
        misaligned Normal, SCTLR.A 0: read 0x2200000000000011
        misaligned Normal, SCTLR.A 1: vector 4 EC 0x25 FSC 0x21 WnR 0 S1PTW 0 FAR 0x10040207001
        AT S1E1R alias: PAR.F 0 PA test+0x0 ATTR 0xff SH 3
        AT S1E1R invalid L2: PAR.F 1 FST 0x6 PTW 0 S 0
        AT S1E1R invalid L0: PAR.F 1 FST 0x4 PTW 0 S 0
        AT S1E1W read-only: PAR.F 1 FST 0xf PTW 0 S 0
        AT S1E1R read-only: PAR.F 0 PA test+0x0 ATTR 0xff SH 3
        AT S1E0R EL1-only: PAR.F 1 FST 0xf PTW 0 S 0
        AT S1E0R EL0 page: PAR.F 0 PA test+0x0 ATTR 0xff SH 3
        AT S1E1R ttbr1: PAR.F 0 PA test+0x0 ATTR 0xff SH 3
        end 0
        """);

    [Fact]
    public void Gic() => Check("gic", """
        start
        IAR with nothing pending: 1023
        SGI 1 taken: 1
        pending while masked: 0x2c
        SGIs 3, 5, 2 by priority: 2 3 5
        SGI 4 under PMR 0x60: none
        SGI 4 pending: 1
        after PMR 0x90: 4
        disabled SGI 6: none
        SGI 6 pending: 1
        SGI 6 once enabled: 6
        end 0
        """);

    private const string TimerLines = """
        start
        CNTFRQ 62500000 Hz
        counter advances: yes
        before the deadline: ISTATUS 0
        interrupt: taken, INTID 27, ISTATUS 1, after the deadline: yes
        taken once: yes
        masked, deadline passed: ISTATUS 1, taken 0, pending 0
        TVAL write sets CVAL ahead: yes, TVAL counts down: yes
        past CVAL gives negative TVAL: yes
        disabled: ISTATUS 0
        end 0
        """;

    [Fact]
    public void Timer() => Check("timer", TimerLines);

    /// <summary>
    /// The same checks in instruction-count time, where the half-second wait for the timer is skipped rather
    /// than slept: the lines must not change.
    /// </summary>
    [Fact]
    public void TimerInInstructionCountTime() => Check("timer", TimerLines, jitArgs: ["--smp", "1", "--icount", "--jit", "tier1=sync"]);

    [Fact]
    public void Psci() => Check("psci", """
        start
        PSCI_VERSION: 1.1
        FEATURES(CPU_ON): 0
        FEATURES(CPU_OFF): 0
        FEATURES(AFFINITY_INFO): 0
        FEATURES(SYSTEM_OFF): 0
        FEATURES(PSCI_FEATURES): 0
        FEATURES(0x8400001f): -1
        AFFINITY_INFO(0): 0
        AFFINITY_INFO(1) before CPU_ON: 1
        secondary: run 1, MPIDR.Aff0 1, stack from the context ID: yes
        CPU_ON(1): 0, secondary flag: set
        AFFINITY_INFO(1) while running: 0
        CPU_ON(1) again: -4
        CPU_ON(0), the caller: -4
        CPU_ON(0x7f), no such CPU: -2
        AFFINITY_INFO(1) after CPU_OFF: 1
        secondary: run 2, MPIDR.Aff0 1, stack from the context ID: yes
        CPU_ON(1): 0, secondary flag: set
        AFFINITY_INFO(1) after the second CPU_OFF: 1
        end 0
        """);

    private static void Check(string guest, string expected, Func<string, bool>? notCompared = null, string[]? jitArgs = null)
    {
        string root = TestProcess.RepositoryRoot();
        var make = TestProcess.Run("make", ["-C", Path.Combine(root, "guests"), $"sys-{guest}"], Patience);
        Assert.True(make.ExitCode == 0, $"make sys-{guest} failed:\n{make.Stdout}{make.Stderr}");
        string elf = Path.Combine(root, "guests", "build", $"sys-{guest}.elf");

        var jit = TestProcess.Run(Path.Combine(root, "jit"),
            ["run", "--kernel", elf, "--timeout", "60", .. jitArgs ?? ["--smp", "2"]], Patience);
        string[] jitLines = Lines(jit.Stdout);
        Assert.True(jit.ExitCode == 0, $"jit exited with {jit.ExitCode}:\n{jit.Stdout}{jit.Stderr}");
        Assert.Equal(Lines(expected), jitLines);

        string? qemu = FindOnPath("qemu-system-aarch64");
        if (qemu is null) return;
        var q = TestProcess.Run(qemu,
            ["-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-smp", "2", "-nographic", "-nic", "none", "-kernel", elf],
            TimeSpan.FromSeconds(60));
        Assert.True(q.ExitCode == 0, $"QEMU exited with {q.ExitCode}: {q.Stderr.Trim()}\n{q.Stdout}");
        Func<string, bool> compared = line => notCompared is null || !notCompared(line);
        Assert.Equal(Lines(q.Stdout).Where(compared), jitLines.Where(compared));
    }

    private static string[] Lines(string text) =>
        text.Replace("\r", "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
