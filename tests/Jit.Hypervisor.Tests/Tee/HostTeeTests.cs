using Jit.Hypervisor.Config;
using Jit.Hypervisor.Memory;
using Jit.SecureWorld.Optee;

namespace Jit.Hypervisor.Tests.Tee;

/// <summary>The host's part: every domain's RAM gets machine frames as it is built; tee="optee" makes it a client of OP-TEE until it is destroyed.</summary>
public class HostTeeTests
{
    private static DomainConfig Config(string name, TeeKind tee) => new()
    {
        Source = "test", Name = name, Kernel = TestProcess.Guest("isolation", "sys-isolation-probe.elf"),
        MemoryMiB = 64, MaxMemoryMiB = 64, Vcpus = 1, Tee = tee,
    };

    [Fact]
    public void ADomainWithOpteeIsAClientFromCreationToDestruction()
    {
        string folder = Directory.CreateTempSubdirectory("jit-tee-").FullName;
        using var host = new Host(folder);
        var os = host.SecureWorld.TrustedOs;
        var with = host.Create(Config("with", TeeKind.Optee));
        var without = host.Create(Config("without", TeeKind.None));
        uint client = Jit.SecureWorld.SecureCall.ClientIdForDomain(with.DomId);
        Assert.True(os.HasClient(client));
        Assert.False(os.HasClient(Jit.SecureWorld.SecureCall.ClientIdForDomain(without.DomId)));
        Assert.IsType<Jit.Hypervisor.Tee.OpteeMediator>(with.Domain.Tee);
        // Both domains' RAM is in the machine address space, each at frames of its own.
        var regions = host.HostMachine.Memory.Regions.Where(r => r.Kind == MachineRegionKind.DomainRam).ToArray();
        Assert.Equal([with.DomId, without.DomId], regions.Select(r => r.DomId).Order());

        Assert.True(host.Destroy(with));
        Assert.False(os.HasClient(client));
        Assert.DoesNotContain(host.HostMachine.Memory.Regions, r => r.DomId == with.DomId);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void ADomainWithFfaIsAnSpmcEndpointFromCreationToDestruction()
    {
        string folder = Directory.CreateTempSubdirectory("jit-tee-").FullName;
        using var host = new Host(folder);
        var spmc = host.SecureWorld.Spmc!;
        var partition = (Jit.SecureWorld.Ffa.ServicePartition)spmc.Partitions[0];
        var with = host.Create(Config("ffa", TeeKind.Ffa));
        var without = host.Create(Config("none", TeeKind.None));
        ushort endpoint = (ushort)(with.DomId + 1);
        Assert.IsType<Jit.Hypervisor.Tee.FfaMediator>(with.Domain.Tee);
        Assert.True(partition.Knows(endpoint));
        Assert.True(spmc.HasBuffers(endpoint));
        Assert.False(spmc.HasEndpoint((ushort)(without.DomId + 1)));
        // FF-A domains are no OP-TEE clients.
        Assert.False(host.SecureWorld.TrustedOs.HasClient(endpoint));

        Assert.True(host.Destroy(with));
        Assert.False(partition.Knows(endpoint));
        Assert.False(spmc.HasEndpoint(endpoint));
        Assert.DoesNotContain(host.HostMachine.Memory.Regions, r => r.Kind == MachineRegionKind.HypervisorShared);
        Directory.Delete(folder, recursive: true);
    }
}
