using System.Buffers.Binary;

namespace Jit.SecureWorld.Ffa;

/// <summary>
/// Our one modelled secure partition, ID 0x8001: a small service over direct messages, enough for a normal-world
/// driver to check every path — echo and add on the argument registers, and the use of memory a VM shared with
/// it (retrieve, read, write, checksum, relinquish), the VM passing the handle in w4 (low) and w5 (high).
/// </summary>
/// <remarks>
/// Requests carry the command in w3; the response carries a status in w3 (0, or an FF-A error code such as
/// DENIED) and results from w4. It is told about every VM the hypervisor creates and destroys and serves only
/// VMs it was told about (and the hypervisor), so that a destroyed VM's requests are refused even if a stale
/// endpoint ID reached it.
/// </remarks>
public sealed class ServicePartition : ISecurePartition
{
    public const ushort PartitionId = 0x8001;
    public static readonly Guid PartitionUuid = new("5c9e1f3a-8b47-4d2e-a6f0-3e71b2d9c0fa");

    public const uint CmdEcho = 0x00;       // w4–w7 back
    public const uint CmdAdd = 0x01;        // w4 = w4 + w5 + w6 + w7
    public const uint CmdRetrieve = 0x10;   // handle: w4 = its size in pages
    public const uint CmdRead32 = 0x11;     // handle, w6 = offset: w4 = the word there
    public const uint CmdWrite32 = 0x12;    // handle, w6 = offset, w7 = the word to write
    public const uint CmdChecksum = 0x13;   // handle: w4 = the sum of its bytes, w5 = its size in bytes
    public const uint CmdRelinquish = 0x14; // handle

    private readonly HashSet<ushort> vms = [];
    private readonly Lock gate = new();

    public ushort Id => PartitionId;
    public Guid Uuid => PartitionUuid;
    public uint Properties => FfaAbi.PropDirectRequestReceive | FfaAbi.PropVmCreated | FfaAbi.PropVmDestroyed | FfaAbi.PropAArch64;
    public ushort ExecutionContexts => 1;

    /// <summary>Whether the partition serves <paramref name="vm"/>: it was created and not yet destroyed.</summary>
    public bool Knows(ushort vm)
    {
        lock (gate) return vms.Contains(vm);
    }

    public void VmCreated(ushort vm)
    {
        lock (gate) vms.Add(vm);
    }

    public void VmDestroyed(ushort vm)
    {
        lock (gate) vms.Remove(vm);
    }

    public void DirectRequest(Spmc spmc, ref FfaDirectMessage m)
    {
        if (m.Sender != FfaAbi.HypervisorId && !Knows(m.Sender))
        {
            Respond(ref m, FfaAbi.Denied);
            return;
        }
        ulong handle = (uint)m.A4 | ((ulong)(uint)m.A5 << 32);
        switch ((uint)m.A3)
        {
            case CmdEcho:
                m.A3 = 0;
                return;
            case CmdAdd:
                Respond(ref m, 0, m.A4 + m.A5 + m.A6 + m.A7);
                return;
            case CmdRetrieve:
            {
                int status = spmc.Retrieve(this, m.Sender, handle, out uint pages);
                Respond(ref m, status, pages);
                return;
            }
            case CmdRead32:
            {
                Span<byte> word = stackalloc byte[4];
                int status = (m.A6 & 3) != 0 ? FfaAbi.InvalidParameters : spmc.ReadShared(this, m.Sender, handle, m.A6, word);
                Respond(ref m, status, status == 0 ? BinaryPrimitives.ReadUInt32LittleEndian(word) : 0);
                return;
            }
            case CmdWrite32:
            {
                Span<byte> word = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)m.A7);
                Respond(ref m, (m.A6 & 3) != 0 ? FfaAbi.InvalidParameters : spmc.WriteShared(this, m.Sender, handle, m.A6, word));
                return;
            }
            case CmdChecksum:
                Checksum(spmc, ref m, handle);
                return;
            case CmdRelinquish:
                Respond(ref m, spmc.Relinquish(this, m.Sender, handle));
                return;
            default:
                Respond(ref m, FfaAbi.NotSupported);
                return;
        }
    }

    private void Checksum(Spmc spmc, ref FfaDirectMessage m, ulong handle)
    {
        Span<byte> chunk = stackalloc byte[256];
        ulong sum = 0, offset = 0;
        int status;
        while ((status = spmc.ReadShared(this, m.Sender, handle, offset, chunk)) == 0)
        {
            foreach (byte b in chunk) sum += b;
            offset += (ulong)chunk.Length;
        }
        // Reading past the end is how the loop ends: the region is a whole number of pages, so of chunks.
        if (status == FfaAbi.InvalidParameters && offset > 0) Respond(ref m, 0, (uint)sum, offset);
        else Respond(ref m, status);
    }

    private static void Respond(ref FfaDirectMessage m, int status, ulong a4 = 0, ulong a5 = 0)
    {
        m.A3 = (uint)status;
        m.A4 = a4;
        m.A5 = a5;
        m.A6 = 0;
        m.A7 = 0;
    }
}
