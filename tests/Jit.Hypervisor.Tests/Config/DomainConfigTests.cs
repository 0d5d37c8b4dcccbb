using Jit.Hypervisor.Config;

namespace Jit.Hypervisor.Tests.Config;

/// <summary>Every key the domain builder and the toolstack rely on, its default, and each way it can be wrong.</summary>
public sealed class DomainConfigTests : IDisposable
{
    private static readonly HostLimits Host = new(MaxVcpus: 8, HostCpus: 4, AvailableMemoryMiB: 4096);

    private readonly string dir = Directory.CreateTempSubdirectory("jit-config-").FullName;
    private readonly string kernel, ramdisk, dtb, disk;

    public DomainConfigTests()
    {
        kernel = Write("Image", [0x4D, 0x5A]);
        ramdisk = Write("initrd.cpio", [0x30, 0x37]);
        var partial = new Jit.Hypervisor.DeviceTree.FdtWriter();
        partial.BeginNode("").Property("#address-cells", 2u).Property("#size-cells", 2u).BeginNode("passthrough").EndNode().EndNode();
        dtb = Write("partial.dtb", partial.Finish());
        disk = Write("disk.img", new byte[4096]);
    }

    public void Dispose() => Directory.Delete(dir, true);

    private string Write(string name, byte[] content)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static DomainConfig Read(string text, params string[] overrides) =>
        DomainConfigReader.Read(XlConfig.Parse(text, "dom1.cfg").WithOverrides(overrides), Host);

    /// <summary>A file with the required keys (name on line 1, kernel on line 2), then <paramref name="more"/> from line 3.</summary>
    private string Minimal(string more = "") => $"name = \"guest\"\nkernel = \"{kernel}\"\n{more}";

    private void Rejects(string text, string start, string problem) =>
        ConfigAssert.Rejects(() => Read(text), start, problem);

    [Fact]
    public void AFileWithEveryKeyGivesEveryField()
    {
        var c = Read($"""
            name = "web-1"
            type = "pvh"
            kernel = "{kernel}"
            ramdisk = "{ramdisk}"
            cmdline = "console=ttyAMA0 rdinit=/bin/sh"
            device_tree = "{dtb}"
            memory = 512
            maxmem = 1024
            vcpus = 2
            vuart = "sbsa_uart"
            on_poweroff = "preserve"
            on_reboot = "destroy"
            on_crash = "restart"
            cpus = "1-3,^2"
            tee = "optee"
            disk = [ 'file:{disk},xvda,w', 'format=qcow2, vdev=xvdb, access=ro, specification=nvme, target={disk}' ]
            vif = [ 'bridge=xenbr0', 'vifname=jittap0, mac=00:16:3e:01:02:03' ]
            pci = [ '01:00.0' ]
            smccc_permit = [ 'sip' ]
            """);
        Assert.Equal("dom1.cfg", c.Source);
        Assert.Equal("web-1", c.Name);
        Assert.Equal("pvh", c.Type);
        Assert.Equal(kernel, c.Kernel);
        Assert.Equal(ramdisk, c.Ramdisk);
        Assert.Equal("console=ttyAMA0 rdinit=/bin/sh", c.Cmdline);
        Assert.Equal(dtb, c.DeviceTree);
        Assert.Null(c.JitDtb);
        Assert.Equal(512UL, c.MemoryMiB);
        Assert.Equal(1024UL, c.MaxMemoryMiB);
        Assert.Equal(2, c.Vcpus);
        Assert.Equal(VuartKind.SbsaUart, c.Vuart);
        Assert.Equal(ShutdownAction.Preserve, c.OnPoweroff);
        Assert.Equal(ShutdownAction.Destroy, c.OnReboot);
        Assert.Equal(ShutdownAction.Restart, c.OnCrash);
        Assert.Equal(["1,3", "1,3"], c.CpuAffinity!.Select(s => s.ToString()));
        Assert.Equal(TeeKind.Optee, c.Tee);
        Assert.Equal(["sip"], c.SmcccPermit.Select(p => p.Text));
        Assert.Equal([new(disk, false, Jit.Devices.Storage.DiskFormat.Raw, Jit.Hypervisor.Builder.DiskInterface.Virtio),
            new Jit.Hypervisor.Builder.LinuxDisk(disk, true, Jit.Devices.Storage.DiskFormat.Qcow2, Jit.Hypervisor.Builder.DiskInterface.Nvme)], c.Disks);
        Assert.Equal(2, c.Nics.Count);
        Assert.Equal((Jit.Hypervisor.Network.NicBackend.Switch, "xenbr0"), (c.Nics[0].Backend, c.Nics[0].Name));
        Assert.Equal((Jit.Hypervisor.Network.NicBackend.Tap, "jittap0"), (c.Nics[1].Backend, c.Nics[1].Name));
        Assert.Equal([0x00, 0x16, 0x3e, 0x01, 0x02, 0x03], c.Nics[1].Mac!);
        Assert.Equal([new Jit.Hypervisor.Pci.PciAddress(0, 1, 0, 0)], c.Pci.Select(p => p.Address));
        Assert.Equal(18, c.Pci[0].Origin.Line);
        Assert.Empty(c.Warnings);
    }

    [Fact]
    public void OnlyNameAndKernelAreRequiredAndTheRestTakesXlsDefaults()
    {
        var c = Read(Minimal());
        Assert.Equal(DomainConfigReader.DefaultMemoryMiB, c.MemoryMiB);
        Assert.Equal(32UL, c.MemoryMiB);
        Assert.Equal(32UL, c.MaxMemoryMiB);
        Assert.Equal(1, c.Vcpus);
        Assert.Equal("pvh", c.Type);
        Assert.Equal(VuartKind.Pl011, c.Vuart);
        Assert.Equal(ShutdownAction.Destroy, c.OnPoweroff);
        Assert.Equal(ShutdownAction.Restart, c.OnReboot);
        Assert.Equal(ShutdownAction.Destroy, c.OnCrash);
        Assert.Equal(TeeKind.None, c.Tee);
        Assert.Null(c.CpuAffinity);
        Assert.Null(c.Cmdline);
        Assert.Null(c.Ramdisk);
        Assert.Null(c.DeviceTree);
        Assert.Empty(c.SmcccPermit);
        Assert.Empty(c.Pci);
    }

    [Fact]
    public void MemoryAndMaxmemDefaultToEachOther()
    {
        var onlyMemory = Read(Minimal("memory = 300\n"));
        Assert.Equal((300UL, 300UL), (onlyMemory.MemoryMiB, onlyMemory.MaxMemoryMiB));
        var onlyMaxmem = Read(Minimal("maxmem = 700\n"));
        Assert.Equal((700UL, 700UL), (onlyMaxmem.MemoryMiB, onlyMaxmem.MaxMemoryMiB));
    }

    [Theory]
    [InlineData("memory = \"512\"", 512UL)]
    [InlineData("memory = 0x200", 512UL)]
    [InlineData("memory = 01000", 512UL)]
    [InlineData("memory = ' 512'", 512UL)]
    public void NumbersAreReadAsXlReadsThem(string line, ulong mib) =>
        Assert.Equal(mib, Read(Minimal(line + "\n")).MemoryMiB);

    [Fact]
    public void TheCommandLineIsCmdlineElseRootAndExtraAsXlJoinsThem()
    {
        Assert.Equal("root=/dev/xvda1 console=hvc0 quiet", Read(Minimal("root = '/dev/xvda1'\nextra = 'console=hvc0 quiet'\n")).Cmdline);
        Assert.Equal("root=/dev/xvda1", Read(Minimal("root = '/dev/xvda1'\n")).Cmdline);
        Assert.Equal("console=hvc0", Read(Minimal("extra = 'console=hvc0'\n")).Cmdline);

        var both = Read(Minimal("root = '/dev/xvda1'\ncmdline = 'console=ttyAMA0'\nextra = 'quiet'\n"));
        Assert.Equal("console=ttyAMA0", both.Cmdline);
        var warning = Assert.Single(both.Warnings);
        Assert.Equal("dom1.cfg:4: cmdline: root and extra ignored in favour of cmdline, as xl does", warning);
    }

    [Fact]
    public void RelativePathsStartFromXlsWorkingDirectoryNotTheConfigFilesFolder()
    {
        string configDir = Directory.CreateDirectory(Path.Combine(dir, "etc")).FullName;
        string configFile = Path.Combine(configDir, "dom.cfg");
        File.WriteAllText(configFile, "name = 'g'\nkernel = 'Image'\nramdisk = './initrd.cpio'\ndevice_tree = 'etc/../partial.dtb'\n");

        var c = DomainConfigReader.Load(configFile, [], Host, workingDirectory: dir);
        Assert.Equal(kernel, c.Kernel);
        Assert.Equal(ramdisk, c.Ramdisk);
        Assert.Equal(dtb, c.DeviceTree);
        Assert.True(Path.IsPathRooted(c.Kernel));

        File.Copy(kernel, Path.Combine(configDir, "OnlyBesideTheConfig"));
        File.WriteAllText(configFile, "name = 'g'\nkernel = 'OnlyBesideTheConfig'\n");
        ConfigAssert.Rejects(() => DomainConfigReader.Load(configFile, [], Host, workingDirectory: dir),
            $"{configFile}:2: kernel: ", $"OnlyBesideTheConfig (from {dir}): no such file");
    }

    [Fact]
    public void OverridesWinOverTheFileAndTheirErrorsNameTheCommandLine()
    {
        string file = Minimal("memory = 256\nvcpus = 99\nextra = 'console=hvc0'\n");
        var c = Read(file, "memory=512", "vcpus=2", "extra+=' quiet'", "on_crash=\"preserve\"");
        Assert.Equal(512UL, c.MemoryMiB);
        Assert.Equal(2, c.Vcpus); // the file's bad value never counts: the override replaced it
        Assert.Equal("console=hvc0 quiet", c.Cmdline);
        Assert.Equal(ShutdownAction.Preserve, c.OnCrash);

        ConfigAssert.Rejects(() => Read(file, "memory=\"lots\""), "command line: memory: ", "expected a number, got \"lots\"");
        ConfigAssert.Rejects(() => Read(file, "memory=lots"), "command line: memory: ", "expected a value (a \"string\", a number or a [list]), got \"lots\"");
        ConfigAssert.Rejects(() => Read(Minimal(), "memroy=512"), "command line: memroy: ", "unknown key (did you mean \"memory\"?)");
        ConfigAssert.Rejects(() => Read(Minimal(), "vcpus=9"), "command line: vcpus: ", "9: a domain has 1 to 8 vCPUs here");
    }

    [Fact]
    public void AnEmptyConfigFileWithOverridesWorksLikeXlCreateDevNull()
    {
        var c = DomainConfigReader.Load("/dev/null", ["name='g'", $"kernel='{kernel}'"], Host);
        Assert.Equal("g", c.Name);
        ConfigAssert.Rejects(() => DomainConfigReader.Load("/dev/null", ["name='g'"], Host), "/dev/null: kernel: ", "required");
    }

    [Fact]
    public void TheExampleInTheIssueReadsAsIssued() =>
        Rejects(Minimal("\n\n\n\nmemory = \"lots\"\n"), "dom1.cfg:7: memory: expected a number, got \"lots\"", null!);

    [Theory]
    // Unknown keys: xl ignores them, this hypervisor refuses them.
    [InlineData("memroy = 512", "dom1.cfg:3: memroy: ", "unknown key (did you mean \"memory\"?)")]
    [InlineData("frobnicate = 1", "dom1.cfg:3: frobnicate: ", "unknown key")]
    [InlineData("maxvcpus = 4", "dom1.cfg:3: maxvcpus: ", "an xl key this hypervisor does not support")]
    [InlineData("on_watchdog = 'destroy'", "dom1.cfg:3: on_watchdog: ", "an xl key this hypervisor does not support")]
    // Wrong kinds of value.
    [InlineData("memory = [ 512 ]", "dom1.cfg:3: memory: ", "expected a number, got a [list]")]
    [InlineData("cmdline = [ 'a' ]", "dom1.cfg:3: cmdline: ", "expected a \"string\", got a [list]")]
    [InlineData("disk = 'file:/a.img,xvda,w'", "dom1.cfg:3: disk: ", "expected a [list], got a \"string\"")]
    // xl's disk and vif specifications.
    [InlineData("disk = [ 'vdev=xvda' ]", "dom1.cfg:3: disk: ", "no target")]
    [InlineData("disk = [ 'target=/nonexistent/disk.img' ]", "dom1.cfg:3: disk: ", "no vdev")]
    [InlineData("disk = [ '/nonexistent/disk.img,raw,xvda,rw' ]", "dom1.cfg:3: disk: ", "/nonexistent/disk.img: ")]
    [InlineData("disk = [ 'format=vhd, vdev=xvda, target=/x' ]", "dom1.cfg:3: disk: ", "format=vhd: Jit reads raw and qcow2 images")]
    [InlineData("disk = [ 'specification=xen, vdev=xvda, target=/x' ]", "dom1.cfg:3: disk: ", "needs Xen's PV block protocol")]
    [InlineData("disk = [ 'devtype=cdrom, vdev=hdc, target=/x' ]", "dom1.cfg:3: disk: ", "no cdrom")]
    [InlineData("disk = [ 'colour=blue, vdev=xvda, target=/x' ]", "dom1.cfg:3: disk: ", "unknown parameter 'colour'")]
    [InlineData("disk = [ [ 'a' ] ]", "dom1.cfg:3: disk: ", "an entry is a [list]")]
    [InlineData("vif = [ 'mac=01:00:5e:00:00:01' ]", "dom1.cfg:3: vif: ", "not a multicast address")]
    [InlineData("vif = [ 'mac=00:16:3e' ]", "dom1.cfg:3: vif: ", "six hex bytes")]
    [InlineData("vif = [ 'model=e1000' ]", "dom1.cfg:3: vif: ", "the interface is virtio-net")]
    [InlineData("vif = [ 'ip=10.0.0.1' ]", "dom1.cfg:3: vif: ", "an xl vif parameter this hypervisor does not support")]
    [InlineData("vif = [ 'bridge' ]", "dom1.cfg:3: vif: ", "is not key=value")]
    [InlineData("memory = 256\nmemory += 256", "dom1.cfg:4: memory: ", "+= cannot be used with a number")]
    [InlineData("memory = 'lots'", "dom1.cfg:3: memory: ", "expected a number, got \"lots\"")]
    [InlineData("memory = 0512x", "dom1.cfg:3: memory: ", "expected a number, got \"0512x\"")]
    [InlineData("memory = 0900", "dom1.cfg:3: memory: ", "(a leading 0 makes it octal, as in xl)")]
    [InlineData("memory = 99999999999999999999", "dom1.cfg:3: memory: ", "is out of range")]
    // Memory.
    [InlineData("memory = 0", "dom1.cfg:3: memory: ", "0 MiB: a domain needs at least 1 MiB")]
    [InlineData("memory = 8192", "dom1.cfg:3: memory: ", "8192 MiB is more than the host has free (4096 MiB)")]
    [InlineData("maxmem = 8192", "dom1.cfg:3: maxmem: ", "8192 MiB (memory defaults to maxmem) is more than the host has free (4096 MiB)")]
    [InlineData("memory = 512\nmaxmem = 256", "dom1.cfg:4: maxmem: ", "256 MiB is less than memory (512 MiB)")]
    [InlineData("memory = 512\nmaxmem = 0x7fffffffffffffff", "dom1.cfg:4: maxmem: ", "more than a 64-bit address space holds")]
    // vCPUs.
    [InlineData("vcpus = 0", "dom1.cfg:3: vcpus: ", "0: a domain has 1 to 8 vCPUs here")]
    [InlineData("vcpus = 9", "dom1.cfg:3: vcpus: ", "9: a domain has 1 to 8 vCPUs here")]
    // Type, UART, TEE, actions.
    [InlineData("type = 'hvm'", "dom1.cfg:3: type: ", "\"hvm\" is not available on Arm: Arm domains are \"pvh\"")]
    [InlineData("type = 'pv'", "dom1.cfg:3: type: ", "\"pv\" is not available on Arm: Arm domains are \"pvh\"")]
    [InlineData("type = 'kvm'", "dom1.cfg:3: type: ", "\"kvm\" is not a domain type")]
    [InlineData("vuart = '16550'", "dom1.cfg:3: vuart: ", "\"16550\" is not a UART model: \"sbsa_uart\"")]
    [InlineData("tee = 'sgx'", "dom1.cfg:3: tee: ", "\"sgx\" is not a TEE: \"none\", \"optee\" or \"ffa\"")]
    [InlineData("on_crash = 'coredump-destroy'", "dom1.cfg:3: on_crash: ", "\"coredump-destroy\" is not supported here (no core dumps yet)")]
    [InlineData("on_reboot = 'rename-restart'", "dom1.cfg:3: on_reboot: ", "\"rename-restart\" is not supported here")]
    [InlineData("on_poweroff = 'soft-reset'", "dom1.cfg:3: on_poweroff: ", "\"soft-reset\" is not supported here")]
    [InlineData("on_poweroff = 'explode'", "dom1.cfg:3: on_poweroff: ", "\"explode\" is not an action: destroy, restart or preserve")]
    [InlineData("on_poweroff = 'Destroy'", "dom1.cfg:3: on_poweroff: ", "is not an action")]
    // CPUs (the host has 4).
    [InlineData("cpus = '0-4'", "dom1.cfg:3: cpus: ", "\"0-4\": CPU 4 does not exist (the host has CPUs 0-3)")]
    [InlineData("cpus = '^1'", "dom1.cfg:3: cpus: ", "\"^1\" leaves no CPU to run on")]
    [InlineData("vcpus = 2\ncpus = [ '0', [ '1' ] ]", "dom1.cfg:4: cpus: ", "entry 1 is a [list]")]
    [InlineData("cpus = []", "dom1.cfg:3: cpus: ", "an empty list pins nothing")]
    [InlineData("vcpus = 2\ncpus = [\n '0',\n 'x' ]", "dom1.cfg:6: cpus: ", "\"x\" is not a CPU")]
    // SMCCC rights: the line of the bad entry.
    [InlineData("smccc_permit = [ 'sop' ]", "dom1.cfg:3: smccc_permit: ", "\"sop\": \"sop\" is not an owner: arch, cpu, sip")]
    [InlineData("smccc_permit = [\n 'tos',\n 'sip:0x83000000' ]", "dom1.cfg:5: smccc_permit: ", "\"sip:0x83000000\": 0x83000000 is not a function ID of sip")]
    [InlineData("smccc_permit = 'smc:sip:82000000'", "dom1.cfg:3: smccc_permit: ", "is not a function ID: write it in hex")]
    [InlineData("smccc_permit = [ [ 'sip' ] ]", "dom1.cfg:3: smccc_permit: ", "an entry is a [list]: each is a string")]
    [InlineData("smccc_permit = [ 'sip:0x82000001', '!sip' ]", "dom1.cfg:3: smccc_permit: ", "\"!sip\": sip is both denied and permitted (with \"sip:0x82000001\")")]
    [InlineData("smccc_permit = [ '!tos:0xb2000000' ]", "dom1.cfg:3: smccc_permit: ", "'!' takes an owner alone")]
    [InlineData("smccc_permit = [ 'sip' ]\nsmccc_permit += [ 'smc' ]", "dom1.cfg:4: smccc_permit: ", "smc alone names no owner")]
    public void EachErrorIsOneLineNamingFileLineAndKey(string more, string start, string problem) =>
        Rejects(Minimal(more + "\n"), start, problem);

    [Fact]
    public void MissingRequiredKeysNameTheFileAndTheKey()
    {
        Rejects($"kernel = '{kernel}'\n", "dom1.cfg: name: ", "required: every domain has a name");
        Rejects("name = 'g'\n", "dom1.cfg: kernel: ", "required: the image to boot (kernel = \"PATH\")");
    }

    [Fact]
    public void TheDefaultMemoryMustFitTheHostToo()
    {
        var tiny = new HostLimits(8, 4, AvailableMemoryMiB: 16);
        ConfigAssert.Rejects(() => DomainConfigReader.Read(XlConfig.Parse(Minimal(), "dom1.cfg"), tiny),
            "dom1.cfg: memory: ", "32 MiB (libxl's default) is more than the host has free (16 MiB)");
    }

    [Theory]
    [InlineData("''", "\"\" is empty")]
    [InlineData("'42'", "\"42\" is all digits, and xl reads an all-digit domain argument as a domid")]
    [InlineData("'web/1'", "\"web/1\" holds '/'")]
    [InlineData("'a\\tb'", "holds a control character")]
    public void NamesFollowXlsRulesAndMakeAFileName(string name, string problem) =>
        Rejects($"name = {name}\nkernel = '{kernel}'\n", "dom1.cfg:1: name: ", problem);

    [Fact]
    public void NamesMayBeLongButNotLongerThanALogFileName()
    {
        Assert.Equal(new string('n', 245), Read($"name = '{new string('n', 245)}'\nkernel = '{kernel}'\n").Name);
        Rejects($"name = '{new string('n', 246)}'\nkernel = '{kernel}'\n", "dom1.cfg:1: name: ", "is longer than 245 bytes");
        Assert.Equal("Domain with spaces & dots.v2", Read($"name = 'Domain with spaces & dots.v2'\nkernel = '{kernel}'\n").Name);
    }

    [Fact]
    public void ImageFilesMustExistBeReadableAndHoldSomething()
    {
        Rejects($"name = 'g'\nkernel = '{dir}/nope'\n", "dom1.cfg:2: kernel: ", $"{dir}/nope: no such file");
        Rejects($"name = 'g'\nkernel = '{dir}'\n", "dom1.cfg:2: kernel: ", $"{dir}: is a directory");
        Rejects($"name = 'g'\nkernel = ''\n", "dom1.cfg:2: kernel: ", "is an empty path");
        string empty = Write("empty", []);
        Rejects(Minimal($"ramdisk = '{empty}'\n"), "dom1.cfg:3: ramdisk: ", $"{empty}: is empty");
        Rejects(Minimal($"device_tree = '{dir}/nope.dtb'\n"), "dom1.cfg:3: device_tree: ", "no such file");
        Rejects(Minimal("jit_dtb = '/dev/null'\n"), "dom1.cfg:3: jit_dtb: ", "/dev/null: is empty (or not a regular file)");
        if (!OperatingSystem.IsWindows() && Environment.UserName != "root")
        {
            string secret = Write("secret", [1]);
            File.SetUnixFileMode(secret, UnixFileMode.None);
            Rejects(Minimal($"ramdisk = '{secret}'\n"), "dom1.cfg:3: ramdisk: ", $"{secret}: permission denied");
        }
    }

    [Fact]
    public void APartialDeviceTreeAndAWholeOneDoNotGoTogether()
    {
        Assert.Equal(dtb, Read(Minimal($"jit_dtb = '{dtb}'\n")).JitDtb);
        Rejects(Minimal($"device_tree = '{dtb}'\njit_dtb = '{dtb}'\n"), "dom1.cfg:4: jit_dtb: ",
            "cannot be used with device_tree (set at dom1.cfg:3)");
    }

    [Theory]
    [InlineData("vuart = 'pl011'", VuartKind.Pl011)]
    [InlineData("vuart = 'sbsa_uart'", VuartKind.SbsaUart)]
    [InlineData("vuart = 'SBSA_UART'", VuartKind.SbsaUart)]
    public void VuartModels(string line, VuartKind kind) => Assert.Equal(kind, Read(Minimal(line + "\n")).Vuart);

    [Theory]
    [InlineData("", true)]
    [InlineData("jit_smmu = 1", true)]
    [InlineData("jit_smmu = 0", false)]
    [InlineData("jit_smmu = '0'", false)]
    public void JitSmmuPutsAnSmmuInFrontOfTheBridgeByDefault(string line, bool smmu) => Assert.Equal(smmu, Read(Minimal(line + "\n")).Smmu);

    [Fact]
    public void JitSmmuIsZeroOrOne()
    {
        Rejects(Minimal("jit_smmu = 2\n"), "dom1.cfg:3: jit_smmu: ", "2: expected 0 or 1");
        Rejects(Minimal("jit_smmu = 'yes'\n"), "dom1.cfg:3: jit_smmu: ", "expected a number");
    }

    [Theory]
    [InlineData("tee = 'none'", TeeKind.None)]
    [InlineData("tee = 'optee'", TeeKind.Optee)]
    [InlineData("tee = 'ffa'", TeeKind.Ffa)]
    [InlineData("tee = 'OPTEE'", TeeKind.Optee)]
    public void TeeMediators(string line, TeeKind kind) => Assert.Equal(kind, Read(Minimal(line + "\n")).Tee);

    [Theory]
    [InlineData("", 0, "hvc: arch sip std hyp vendor-hyp\nsmc: arch sip std hyp vendor-hyp")]
    [InlineData("", 1, "hvc: arch std hyp vendor-hyp\nsmc: arch std hyp vendor-hyp")]
    [InlineData("tee = 'optee'", 1, "hvc: arch std hyp vendor-hyp tapp tos\nsmc: arch std hyp vendor-hyp tapp tos")]
    // FF-A's calls are std's: the Trusted OS owners are OP-TEE's ABI, which an FF-A domain has no mediator for.
    [InlineData("tee = 'ffa'", 2, "hvc: arch std hyp vendor-hyp\nsmc: arch std hyp vendor-hyp")]
    [InlineData("tee = 'none'", 0, "hvc: arch sip std hyp vendor-hyp\nsmc: arch sip std hyp vendor-hyp")]
    [InlineData("smccc_permit = [ 'smc:sip:0x82000000-0x8200ffff', 'tos' ]", 1,
        "hvc: arch std hyp vendor-hyp tos\nsmc: arch sip:0x82000000-0x8200ffff std hyp vendor-hyp tos")]
    [InlineData("smccc_permit = 'SMC:SIP'", 1, "hvc: arch std hyp vendor-hyp\nsmc: arch sip std hyp vendor-hyp")]
    [InlineData("smccc_permit = [ '!sip' ]", 0, "hvc: arch std hyp vendor-hyp\nsmc: arch std hyp vendor-hyp")]
    [InlineData("smccc_permit = []", 0, "hvc: arch sip std hyp vendor-hyp\nsmc: arch sip std hyp vendor-hyp")]
    [InlineData("tee = 'optee'\nsmccc_permit = [ 'hvc:tos', 'hvc:tapp' ]", 1,
        "hvc: arch std hyp vendor-hyp tapp tos\nsmc: arch std hyp vendor-hyp")]
    public void SmcccRightsAreTheDefaultsForTheDomidAndTeeChangedBySmcccPermit(string more, int domid, string policy) =>
        Assert.Equal(policy, Read(Minimal(more + "\n")).SmcccPolicyFor(domid).ToString());

    [Fact]
    public void ACpusStringPinsEveryVcpuAndAListPinsEachInTurn()
    {
        var same = Read(Minimal("vcpus = 3\ncpus = 'all,^0'\n"));
        Assert.Equal(["1-3", "1-3", "1-3"], same.CpuAffinity!.Select(s => s.ToString()));

        var each = Read(Minimal("vcpus = 3\ncpus = [ '0', '2-3' ]\n"));
        Assert.Equal(["0", "2-3", "0-3"], each.CpuAffinity!.Select(s => s.ToString()));
        Assert.Empty(each.Warnings);

        var tooMany = Read(Minimal("vcpus = 1\ncpus = [ '0', '1', '2' ]\n"));
        Assert.Equal(["0"], tooMany.CpuAffinity!.Select(s => s.ToString()));
        Assert.Equal("dom1.cfg:4: cpus: 3 entries for 1 vCPU; the entries past vCPU 0 are ignored, as xl does", Assert.Single(tooMany.Warnings));
    }

    [Fact]
    public void UnknownKeysAreReportedBeforeAnythingElse()
    {
        // The bad memory value comes first in the file, but the unknown key is the likelier mistake to report.
        Rejects(Minimal("memory = 'lots'\nvpcus = 2\n"), "dom1.cfg:4: vpcus: ", "unknown key (did you mean \"vcpus\"?)");
    }
}
