using System.Globalization;
using System.Runtime.InteropServices;
using Jit.Devices.Storage;
using Jit.Hypervisor.Builder;
using Jit.Hypervisor.Network;
using Jit.Tool.Inspection;
using Jit.Hypervisor.ConsoleBackend;
using Jit.Hypervisor.Statistics;
using Jit.Hypervisor.Tracing;
using Jit.Runtime;
using Jit.Runtime.Timers;
using Jit.Translator;

using Jit.Hypervisor;
using Jit.Hypervisor.Config;
using Jit.Hypervisor.Smccc;

namespace Jit.Tool.Cli;

/// <summary><c>jit run</c>: runs one guest in the foreground with its console on the terminal.</summary>
internal static class RunCommand
{
    public const string Usage =
        "jit run (--bare <file.elf|file.bin> | --kernel <Image> [--initrd F] [--append \"…\"] [--smp N] [--disk FILE[,ro][,format=F][,if=virtio|nvme]]… [--virtio-rng] [--nic switch[,name=N]|tap[,ifname=N][,mac=M]]… [--smmu[=on|off]] [--dtb-out F] [--dtb F]) " +
        "[--mem SIZE] [--tee optee|ffa|none] [--timeout SECONDS] [--max-instructions N] [--icount[=SHIFT]] [--trace KINDS] [--jit OPTIONS] [--stats] [--stats-json FILE]";

    private const string Help = """
        --bare FILE: runs a bare-metal AArch64 program on a minimal machine: RAM at 0x40000000 (default 128M), a
        PL011 UART at 0x22000000 printing to stdout, PSCI 1.1 over HVC #0. An ELF64 executable is loaded at the
        physical addresses of its PT_LOAD segments and entered at e_entry; any other file is a flat binary
        loaded and entered at 0x40000000. The vCPU starts at EL1h with the MMU off, DAIF masked and all
        general-purpose registers (and SP) zero.

        --kernel IMAGE: boots a Linux kernel (arm64 Image, gzip'd Image or ELF vmlinux) on the full platform:
        RAM at 0x40000000 (default 512M), GICv3 with an ITS, generic timer, PL011 console on stdin/stdout
        (Ctrl-A X quits), PL031 RTC, PSCI 1.1 over HVC, a PCIe host bridge (ECAM at 0x10000000, MSI-X through
        the ITS, INTx on SPIs 34-37) behind an SMMUv3 (at 0x22020000, SPIs 38-40), described by a generated
        device tree.

          --initrd FILE         initramfs (cpio newc, plain or compressed)
          --append "ARGS"       kernel command line (default "console=ttyAMA0")
          --smp N               vCPUs, 1 to 8 (default 1)
          --disk FILE[,ro][,format=raw|qcow2][,if=virtio|nvme]
                                a disk on the PCIe bus (00:01.0 for the first, 00:02.0 for the next, …):
                                virtio-blk (Linux's /dev/vda, vdb, … with the virtio_pci and virtio_blk
                                drivers) or, with if=nvme, an NVMe controller (/dev/nvme0n1, …; the
                                driver is built into Debian's kernel); read-write unless ro (or readonly)
                                is given; the image is raw unless format=qcow2 says otherwise; repeatable
                                (bus 0 holds 31 devices: disks, virtio-rng and NICs together)
          --virtio-rng          a virtio-rng device on the PCIe bus after the disks, fed by the host's
                                random generator (under --icount a fixed stream, for reproducible runs)
          --nic switch[,name=NAME][,mac=MAC] | tap[,ifname=NAME][,mac=MAC]
                                a virtio-net interface on the PCIe bus after virtio-rng: on a software
                                switch (name xenbr0 unless given; alone in jit run, it reaches nobody),
                                or on the host TAP device NAME (created if absent, needs root; bring it up
                                and address it on the host); the MAC is 00:16:3e:… derived from the
                                guest's name unless given; repeatable
          --smmu[=on|off]       an SMMUv3 (arm,smmu-v3) in front of the PCIe bridge (on by default; off, as
                                xl.cfg's jit_smmu = 0, leaves it out): each function's DMA and MSI-X writes go
                                through its stream (StreamID = requester ID), which Linux's arm-smmu-v3 driver
                                translates (iommu.passthrough=1 on the command line makes it bypass); --stats
                                adds the SMMU's TLB figures
          --dtb-out FILE        also write the generated device tree to FILE
          --dtb FILE            use this device tree instead of the generated one
          --mem SIZE            RAM size, e.g. 64M or 1G (at most 3G)
          --tee optee|ffa|none  the guest's TEE, as xl.cfg's tee: with optee its Trusted OS calls go
                                through the OP-TEE mediator to the modelled OP-TEE (and are permitted);
                                with ffa its FF-A 1.1 calls go through the FF-A mediator to the modelled
                                SPMC and its secure partition; none (the default) answers them
                                NOT_SUPPORTED
          --timeout SECONDS     stop the guest after this much wall time
          --max-instructions N  stop after about N guest instructions of vCPU 0 (k, M, G suffixes)
          --icount[=SHIFT]      instruction-count time, for reproducible runs: the system counter (CNTVCT,
                                CNTPCT) and the timers advance 2^SHIFT ns per retired instruction (default
                                4: 16 ns, one 62.5 MHz tick per instruction) instead of following the host's
                                clock; WFI skips guest time to the next timer deadline instead of sleeping,
                                and a guest waiting with no timer armed and no input to come ends the run
                                (exit 1). The RTC starts at 2025-01-01 00:00:00 UTC and advances with guest
                                time; the boot loader's random seeds are fixed. Needs --smp 1. Runs retire
                                the same instructions when tier 1 does not compile in the background: add
                                --jit tier1=sync (or tier1=off) for exact counts
          --trace KINDS         log guest events to stderr, like QEMU's -d: a comma-separated list of
                                in_asm (each block when decoded, disassembled), exec (each block entry),
                                int (exceptions and IRQs taken), mmio (device accesses), smc (HVC/SMC calls),
                                and file=F to write the log to F instead
          --jit OPTIONS         execution engine switches, comma-separated, on top of $JIT_OPTIONS:
                                  tier1=off|sync|background  compile hot blocks to IL: not at all, on the
                                                             vCPU thread, or on a background thread
                                                             (default)
                                  threshold=N                block executions before compiling (default 500)
                                  inline-tlb=on|off          soft-TLB hit path inline in compiled code
                                Engine switches change speed, not results; --icount, which changes what
                                the guest sees of time, is an option of its own.
          --stats               at the end, print a table to stderr: guest instructions, wall time, MIPS,
                                exits by kind, TLB misses, tier 1 figures, bytes allocated on vCPU threads,
                                SMCCC calls by owner
          --stats-json FILE     write the same figures to FILE as JSON
        While a guest runs, `jit top PID` shows its live counters (the "Jit" meter).

        Exit codes: 0 the guest powered off (PSCI SYSTEM_OFF); 1 it stopped otherwise (CPU_OFF, instruction
        limit, idle forever under --icount, emulator failure); 2 bad command line or image; 3 the guest called SYSTEM_RESET; 4 the guest
        kernel panicked (the reason is printed); 124 timeout; 130 interrupted (Ctrl-C). Statistics
        (instructions, wall time, MIPS) go to stderr.
        """;

    public static int Execute(string[] args, TextWriter stderr)
    {
        string? bare = null, kernel = null, initrd = null, dtbOut = null, dtb = null;
        string append = "console=ttyAMA0";
        ulong? mem = null;
        int smp = 1;
        TimeSpan? timeout = null;
        ulong maxInstructions = ulong.MaxValue;
        (TraceKinds, string?)? trace = null;
        int? icount = null;
        var disks = new List<LinuxDisk>();
        var nics = new List<NicSpec>();
        bool entropy = false;
        bool? smmu = null;
        JitOptions jit = ParseJit(Environment.GetEnvironmentVariable("JIT_OPTIONS"), JitOptions.Default, "JIT_OPTIONS");
        var stats = new StatsOutput(false, null);
        var tee = TeeKind.None;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help":
                    System.Console.Out.WriteLine($"usage: {Usage}");
                    System.Console.Out.WriteLine();
                    System.Console.Out.WriteLine(Help);
                    return CommandLine.ExitCodes.Ok;
                case "--bare": bare = Options.Value(args, ref i); break;
                case "--kernel": kernel = Options.Value(args, ref i); break;
                case "--initrd": initrd = Options.Value(args, ref i); break;
                case "--append": append = Options.Value(args, ref i); break;
                case "--dtb-out": dtbOut = Options.Value(args, ref i); break;
                case "--dtb": dtb = Options.Value(args, ref i); break;
                case "--disk": disks.Add(Disk(Options.Value(args, ref i))); break;
                case "--virtio-rng": entropy = true; break;
                case var a when Smmu(a) is bool s: smmu = s; break;
                case "--nic": nics.Add(Nic(Options.Value(args, ref i))); break;
                case "--smp": smp = (int)Options.Count("--smp", Options.Value(args, ref i)); break;
                case "--mem": mem = Options.Size("--mem", Options.Value(args, ref i)); break;
                case "--tee": tee = Tee(Options.Value(args, ref i)); break;
                case "--timeout": timeout = Options.Seconds("--timeout", Options.Value(args, ref i)); break;
                case "--max-instructions": maxInstructions = Options.Count("--max-instructions", Options.Value(args, ref i)); break;
                case "--trace": trace = Options.Trace(Options.Value(args, ref i)); break;
                case "--jit": jit = ParseJit(Options.Value(args, ref i), jit, "--jit"); break;
                case "--stats": stats = stats with { Table = true }; break;
                case "--stats-json": stats = stats with { JsonFile = Options.Value(args, ref i) }; break;
                case var a when Options.Icount(a) is int shift: icount = shift; break;
                default:
                    throw new UsageError(args[i].StartsWith('-') ? $"unknown option {args[i]}" : $"unexpected argument '{args[i]}'");
            }
        }
        if ((bare is null) == (kernel is null)) throw new UsageError("give exactly one of --bare <file> or --kernel <Image>");
        if (bare is not null && ((initrd ?? dtbOut ?? dtb) is not null || disks.Count > 0 || nics.Count > 0 || entropy || smmu is not null))
            throw new UsageError("--initrd, --disk, --virtio-rng, --nic, --smmu, --dtb and --dtb-out need --kernel");
        if (bare is not null)
        {
            ulong size = mem ?? BareMetalMachine.DefaultRamSize;
            if (size < 4096 || size % 4096 != 0 || size > BareMetalMachine.MaxRamSize)
                throw new UsageError("--mem must be a multiple of 4K between 4K and 3G");
            return RunMachine(console => WithTee(BareMetalMachine.Create(bare, console, size, icount), tee), withInput: false, timeout, maxInstructions, stderr, trace, jit, stats);
        }
        var options = Linux(kernel!, initrd, append, mem, smp, dtb, icount) with { Disks = disks, Entropy = entropy, Nics = nics, Tee = tee, Smmu = smmu ?? LinuxOptions.DefaultSmmu };
        if (options.PciDeviceCount > LinuxMachine.MaxPciDevices)
            throw new UsageError($"at most {LinuxMachine.MaxPciDevices} PCI devices: --disk, --virtio-rng and --nic together");
        return RunMachine(console =>
        {
            var m = WithTee(LinuxMachine.Create(options, console), tee);
            if (dtbOut is not null) WriteFile(dtbOut, m.DeviceTree);
            return m;
        }, withInput: true, timeout, maxInstructions, stderr, trace, jit, stats);
    }

    /// <summary><c>--smmu</c>, <c>--smmu=on</c> or <c>--smmu=off</c>; null for any other argument.</summary>
    internal static bool? Smmu(string arg) => arg switch
    {
        "--smmu" or "--smmu=on" => true,
        "--smmu=off" => false,
        _ when arg.StartsWith("--smmu=", StringComparison.Ordinal) => throw new UsageError($"{arg}: --smmu=on or --smmu=off"),
        _ => null,
    };

    /// <summary><c>--tee</c>: xl.cfg's tee values.</summary>
    internal static TeeKind Tee(string text) => text switch
    {
        "optee" => TeeKind.Optee,
        "none" => TeeKind.None,
        "ffa" => TeeKind.Ffa,
        _ => throw new UsageError($"--tee '{text}': optee, ffa or none"),
    };

    /// <summary>
    /// Gives a one-domain machine its TEE: the policy of a control domain with that TEE (the Trusted OS permitted
    /// with OP-TEE; FF-A's calls are the standard secure service's, permitted to every domain, and reach a
    /// service only with the FF-A mediator) and the mediator, which tells the machine's own secure world about
    /// the domain.
    /// </summary>
    internal static T WithTee<T>(T machine, TeeKind tee) where T : Machine
    {
        try
        {
            machine.Domain.Smccc.Policy = SmcccPolicy.Create(controlDomain: true, tee: tee == TeeKind.Optee);
            machine.Domain.AttachTee(tee);
            return machine;
        }
        catch
        {
            machine.Dispose();
            throw;
        }
    }

    internal static JitOptions ParseJit(string? text, JitOptions start, string source)
    {
        if (string.IsNullOrWhiteSpace(text)) return start;
        try
        {
            return JitOptions.Parse(text, start);
        }
        catch (FormatException e)
        {
            throw new UsageError($"{source}: {e.Message}");
        }
    }

    /// <summary><see cref="LinuxDisk.Syntax"/>, as xl's disk specification spells the same.</summary>
    internal static LinuxDisk Disk(string text) =>
        LinuxDisk.TryParse(text, out var disk, out string problem) ? disk : throw new UsageError($"--disk '{text}': {problem}");

    /// <summary><c>switch[,name=NAME][,mac=MAC]</c> or <c>tap[,ifname=NAME][,mac=MAC]</c>.</summary>
    internal static NicSpec Nic(string text)
    {
        string[] parts = text.Split(',');
        var nic = parts[0] switch
        {
            "switch" => new NicSpec(NicBackend.Switch),
            "tap" => new NicSpec(NicBackend.Tap),
            _ => throw new UsageError($"--nic '{text}': the backend is switch or tap, not '{parts[0]}'"),
        };
        foreach (string part in parts.AsSpan(1))
        {
            if (nic.Backend == NicBackend.Switch && part.StartsWith("name=", StringComparison.Ordinal) && part.Length > 5)
                nic = nic with { Name = part[5..] };
            else if (nic.Backend == NicBackend.Tap && part.StartsWith("ifname=", StringComparison.Ordinal) && part.Length > 7)
                nic = nic with { Name = part[7..] };
            else if (part.StartsWith("mac=", StringComparison.Ordinal))
                nic = nic with { Mac = MacAddress.Parse(part[4..]) ?? throw new UsageError($"--nic '{text}': '{part[4..]}' is not a MAC address (six hex bytes separated by colons, not multicast)") };
            else throw new UsageError($"--nic '{text}': unknown '{part}' ({(nic.Backend == NicBackend.Switch ? "name=NAME" : "ifname=NAME")} or mac=MAC)");
        }
        return nic;
    }

    internal static LinuxOptions Linux(string kernel, string? initrd, string append, ulong? mem, int smp, string? dtb = null, int? icount = null)
    {
        ulong size = mem ?? 512UL << 20;
        if (size < LinuxMachine.MinRamSize || size % 4096 != 0 || size > GuestMemoryMap.Ram0MaxSize)
            throw new UsageError("--mem must be a multiple of 4K between 64M and 3G for a Linux guest");
        if (smp is < 1 or > VcpuTopology.MaxVcpus) throw new UsageError($"--smp must be between 1 and {VcpuTopology.MaxVcpus}");
        Options.CheckIcountSmp(icount, smp);
        return new LinuxOptions(kernel, initrd, append, size, smp, dtb, icount);
    }

    internal static void WriteFile(string path, byte[] data)
    {
        try
        {
            File.WriteAllBytes(path, data);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageError(path, $"cannot be written: {e.Message}");
        }
    }

    /// <summary>Builds a machine around a console, runs it and turns the way it ended into an exit code.</summary>
    internal static int RunMachine(Func<Stream, Machine> build, bool withInput, TimeSpan? timeout, ulong maxInstructions, TextWriter stderr,
        (TraceKinds Kinds, string? File)? trace = null, JitOptions? jit = null, StatsOutput? stats = null)
    {
        using var stdout = new BufferedStream(System.Console.OpenStandardOutput(), 4096);
        var console = new ConsoleOutput(stdout);
        Machine machine;
        GuestTrace? tracer = null;
        try
        {
            machine = build(console);
            machine.Domain.JitOptions = jit ?? ParseJit(Environment.GetEnvironmentVariable("JIT_OPTIONS"), JitOptions.Default, "JIT_OPTIONS");
            if (trace is { } t)
            {
                try
                {
                    tracer = GuestTrace.Create(t.Kinds, t.File, stderr);
                }
                catch
                {
                    machine.Dispose();
                    throw;
                }
                tracer.Attach(machine);
            }
        }
        catch (Exception e) when (e is ImageError or DiskImageException or Jit.Devices.Network.NetworkBackendException)
        {
            stderr.WriteLine($"jit: {e.Message}");
            return CommandLine.ExitCodes.BadInput;
        }

        using (machine)
        using (tracer)
        using (InspectionServer.Start(machine, $"process {Environment.ProcessId}", stderr))
        using (OnSignal(PosixSignal.SIGINT, machine))
        using (OnSignal(PosixSignal.SIGTERM, machine))
        using (withInput ? AttachInput(machine) : null)
        {
            // A panicking kernel spins or waits forever; give it a moment to print the rest, then stop it.
            using var panicStop = new Timer(_ => machine.Domain.Stop());
            console.Panicked += _ => panicStop.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
            RunResult result;
            try
            {
                result = machine.Run(timeout, maxInstructions);
            }
            catch (Exception e)
            {
                // An emulator bug, not the guest's fault: one line, the stack only on request.
                stderr.WriteLine($"jit: emulator failure at guest PC 0x{machine.Vcpu.PcForDiagnostics:x}: {e.GetType().Name}: {e.Message}");
                if (Environment.GetEnvironmentVariable("JIT_STACK_TRACES") == "1") stderr.WriteLine(e);
                return CommandLine.ExitCodes.Failure;
            }
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"jit: {result.Instructions:N0} instructions in {result.WallTime.TotalSeconds:F3} s, {result.Mips:F1} MIPS"));
            if (machine.Domain.Counter is InstructionCounter icount)
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"jit: icount: {1 << icount.Shift} ns per instruction; guest time {(double)icount.Now / CpuModel.CounterFrequency:F3} s, of which {(double)icount.IdleTicks / CpuModel.CounterFrequency:F3} s idle in WFI"));
            if (machine.Domain.JitOptions.Tier1 != Tier1Mode.Off)
            {
                var (compiled, rejected) = global::Jit.Translator.Tier1.Tier1Compiler.Statistics;
                int decoded = machine.Domain.Vcpus.Sum(v => v.Engine.BlocksDecoded);
                var cost = global::Jit.Translator.Tier1.Tier1Compiler.Cost;
                ulong interpreted = machine.Domain.Vcpus.Aggregate(0UL, (n, v) => n + v.Engine.InterpretedInstructions);
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"jit: tier 1 ({machine.Domain.JitOptions}): {decoded:N0} blocks decoded, {compiled:N0} compiled, {rejected:N0} left to tier 0; " +
                    $"{100.0 * interpreted / Math.Max(1, result.Instructions):F1}% of instructions interpreted; " +
                    $"{cost.Instructions:N0} instructions compiled in {cost.Time.TotalSeconds:F2} s"));
            }
            if (stats is { Requested: true } && !Report(stats, RunStatistics.Collect(machine.Domain, result.Instructions, result.WallTime, (machine as LinuxMachine)?.Smmu), stderr))
                return CommandLine.ExitCodes.Failure;
            if (Environment.GetEnvironmentVariable("JIT_DEBUG_STATE") == "1")
                foreach (var v in machine.Domain.Vcpus) stderr.WriteLine(v.Describe());
            if (console.Panic is { } panic)
            {
                stderr.WriteLine($"jit: the guest kernel panicked: {panic}");
                return CommandLine.ExitCodes.GuestPanic;
            }
            switch (result.End)
            {
                case RunEnd.PowerOff:
                    return CommandLine.ExitCodes.Ok;
                case RunEnd.Reset:
                    stderr.WriteLine("jit: the guest requested a system reset (PSCI SYSTEM_RESET); runs do not restart");
                    return CommandLine.ExitCodes.GuestReset;
                case RunEnd.AllVcpusOff:
                    stderr.WriteLine("jit: the guest turned off its last vCPU (PSCI CPU_OFF) without SYSTEM_OFF");
                    return CommandLine.ExitCodes.Failure;
                case RunEnd.Timeout:
                    stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"jit: timeout: the guest was still running after {timeout!.Value.TotalSeconds:0.###} s"));
                    return CommandLine.ExitCodes.Timeout;
                case RunEnd.InstructionLimit:
                    stderr.WriteLine($"jit: instruction limit reached: the guest was still running after {maxInstructions} instructions");
                    return CommandLine.ExitCodes.Failure;
                case RunEnd.Idle:
                    stderr.WriteLine($"jit: the guest is idle forever: it waits for an interrupt (WFI at PC 0x{machine.Vcpu.PcForDiagnostics:x}) " +
                        "with no timer armed and no console input to come, and in instruction-count time nothing else can wake it");
                    return CommandLine.ExitCodes.Failure;
                default:
                    stderr.WriteLine("jit: interrupted");
                    return CommandLine.ExitCodes.Interrupted;
            }
        }
    }

    /// <summary>Connects stdin to the guest's console; while it is open, a vCPU idle in instruction-count time waits for it.</summary>
    private static ConsoleInput AttachInput(Machine machine)
    {
        machine.Domain.InputAttached = true;
        return new ConsoleInput(machine.Uart, machine.Interrupt, () => machine.Domain.InputAttached = false);
    }

    private static bool Report(StatsOutput output, RunStatistics statistics, TextWriter stderr)
    {
        if (output.Table) stderr.Write(statistics.ToTable());
        if (output.JsonFile is not { } path) return true;
        try
        {
            using var file = File.Create(path);
            statistics.WriteJson(file);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"jit: --stats-json {path}: cannot be written: {e.Message}");
            return false;
        }
    }

    /// <summary>
    /// The first signal stops the guest cleanly (the vCPU leaves at its next check and the console is flushed);
    /// a second one, if the guest did not stop, gets the default action so the user is never stuck.
    /// </summary>
    private static PosixSignalRegistration OnSignal(PosixSignal signal, Machine machine)
    {
        int count = 0;
        return PosixSignalRegistration.Create(signal, ctx =>
        {
            if (Interlocked.Increment(ref count) > 1) return;
            ctx.Cancel = true;
            machine.Interrupt();
        });
    }
}
