using System.Buffers.Binary;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.Sip;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.SecureWorld.Tests;

/// <summary>
/// 10^5 random SMCs from a fixed seed: random function IDs and client IDs, random arguments, random argument
/// structs, parameters and page lists in memory, random answers to RPCs. None may throw, every answer must be one
/// the ABI defines, and a client that took no part keeps working.
/// </summary>
public class HostileInputTests
{
    private const int Calls = 100_000;

    private static readonly uint[] OpteeFast =
    [
        OpteeSmc.CallsCount, OpteeSmc.CallsUid, OpteeSmc.CallsRevision, OpteeSmc.GetOsUuid, OpteeSmc.GetOsRevision,
        OpteeSmc.GetShmConfig, OpteeSmc.ExchangeCapabilities, OpteeSmc.DisableShmCache, OpteeSmc.EnableShmCache,
        OpteeSmc.VmCreated, OpteeSmc.VmDestroyed, OpteeSmc.GetThreadCount, OpteeSmc.EnableAsyncNotif, OpteeSmc.GetAsyncNotifValue,
    ];
    private static readonly uint[] OpteeYielding =
        [OpteeSmc.CallWithArg, OpteeSmc.CallWithRpcArg, OpteeSmc.CallWithRegdArg, OpteeSmc.ReturnFromRpc];
    private static readonly uint[] Sip =
    [
        PlatformFirmware.CallCount, PlatformFirmware.CallUid, PlatformFirmware.CallRevision, PlatformFirmware.SocId,
        PlatformFirmware.ClockSet, PlatformFirmware.ClockGet, PlatformFirmware.DeviceReset,
    ];
    private static readonly uint[] YieldingStatus =
    [
        OpteeSmc.ReturnOk, OpteeSmc.ReturnEThreadLimit, OpteeSmc.ReturnEResume, OpteeSmc.ReturnEBadAddr, OpteeSmc.ReturnEBadCmd,
        OpteeSmc.ReturnENotAvail, OpteeSmc.ReturnRpcAlloc, OpteeSmc.ReturnRpcFree, OpteeSmc.ReturnRpcCmd,
    ];
    private static readonly ulong[] Attrs =
    [
        0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 9 | OpteeMsg.AttrNoncontig, 10 | OpteeMsg.AttrNoncontig, 11 | OpteeMsg.AttrNoncontig,
        1 | OpteeMsg.AttrMeta, 4, 0xFF, 1ul << 20,
    ];
    private static readonly Guid[] Uuids = [EchoTa.TaUuid, RngTa.TaUuid, ContentDecryptionTa.TaUuid, DeviceEnumerationPta.TaUuid, Guid.Empty];

    // Random structures live in the last 256 KiB of guest 1's RAM (its own pages sit lower).
    private const ulong Window = TestMachine.RamBase + 2 * (ulong)TestMachine.GuestRam - 0x4_0000;
    private const int WindowSize = 0x4_0000;

    private readonly Random random = new(0x5EC0_2E);
    private readonly List<ulong> cookies = [];
    private readonly List<uint> sessions = [];
    private readonly Dictionary<uint, (List<uint> Sessions, List<ulong> Cookies)> mine = [];
    private readonly Dictionary<string, int> outcomes = [];
    private readonly HashSet<uint> protectedSessions = [];

    private void Count(string outcome) => outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;

    [Fact]
    public void A_hundred_thousand_random_calls_never_throw_and_always_get_a_defined_answer()
    {
        var machine = new TestMachine(new OpteeOptions { ThreadsPerClient = 4, MaxSessionsPerClient = 32, MaxSharedMemoryPerClient = 64 });
        var guests = new[] { machine.Guest(0), machine.Guest(1) };
        foreach (var guest in guests)
        {
            var own = (Sessions: new List<uint>(), Cookies: new List<ulong>());
            foreach (var uuid in Uuids[..4])
                own.Sessions.Add(guest.OpenSession(uuid, OpteeMsg.LoginUser, uuid == ContentDecryptionTa.TaUuid ? [Param.ValueIn(1)] : []).Session);
            own.Sessions.Add(guest.OpenSession(EchoTa.TaUuid, OpteeMsg.LoginUser).Session);
            for (int i = 0; i < 3; i++) own.Cookies.Add(guest.Register(5000 * (i + 1), 0x10 * i).Cookie);
            mine[guest.ClientId] = own;
            protectedSessions.Add(own.Sessions[0]);
            protectedSessions.Add(own.Sessions[4]);
            sessions.AddRange(own.Sessions);
            cookies.AddRange(own.Cookies);
        }
        var bystander = machine.Guest(3);
        var player = bystander.OpenSession(ContentDecryptionTa.TaUuid, OpteeMsg.LoginApplication, Param.ValueIn(1)).Session;
        var stream = bystander.Register(4096);
        byte[] Play()
        {
            stream.Write(0, new byte[4096]);
            var r = bystander.Invoke(player, ContentDecryptionTa.CmdDecrypt, Param.In(stream, 16, 2000), Param.Out(stream, 2016, 2000), Param.In(stream, 0, 16));
            Assert.Equal(TeeResult.Success, r.Ret);
            return stream.Read(2016, 2000);
        }
        var before = Play();

        for (int i = 0; i < Calls; i++)
        {
            var call = RandomCall(machine, bystander.ClientId);
            uint fid = call.FunctionId;
            var request = call;
            machine.Monitor.Smc(ref call);
            Check(i, fid, request, call, machine);
            // Half the RPCs are answered, with resume information kept or not and random results.
            for (int answered = 0; OpteeSmc.IsRpc((uint)call.A0) && answered < 4 && random.Next(2) == 0; answered++)
            {
                var resume = new SecureCall(OpteeSmc.ReturnFromRpc, request.ClientId)
                {
                    A1 = Address(), A2 = Address(), A3 = random.Next(8) == 0 ? (ulong)random.Next(6) : call.A3, A4 = Address(), A5 = Address(),
                };
                request = resume;
                machine.Monitor.Smc(ref resume);
                Check(i, OpteeSmc.ReturnFromRpc, request, resume, machine);
                call = resume;
            }
        }

        Assert.Equal(before, Play());
        // The fuzzing got past the door: messages reached the TAs, calls went into RPCs, memory was refused.
        string seen = string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}"));
        foreach (var outcome in new[] { "success", "tee error", "rpc", "resumed", "EBADADDR", "ETHREAD_LIMIT", "ERESUME", "ENOTAVAIL", "EBADCMD" })
            Assert.True(outcomes.GetValueOrDefault(outcome) >= 100, $"only {outcomes.GetValueOrDefault(outcome)} '{outcome}': {seen}");
        foreach (uint client in machine.Os.ClientIds)
            Assert.Equal(OpteeSmc.ReturnOk, (uint)machine.Hypervisor(OpteeSmc.VmDestroyed, client).A0);
        Assert.Equal(0, machine.Os.ClientCount);
    }

    private SecureCall RandomCall(TestMachine machine, uint bystander)
    {
        int kind = random.Next(100);
        uint fid = kind switch
        {
            < 45 => OpteeYielding[random.Next(OpteeYielding.Length)],
            < 65 => OpteeFast[random.Next(OpteeFast.Length)],
            < 75 => Sip[random.Next(Sip.Length)],
            < 88 => (uint)random.Next(64) << 24 | (uint)random.Next(2) << 31 | (uint)random.Next(32),
            _ => (uint)random.NextInt64(),
        };
        uint client = random.Next(10) switch { < 4 => 1, < 8 => 2, 8 => 0, _ => (uint)random.Next(8) };
        if (client == bystander) client = 1;
        var call = new SecureCall(fid, client) { A1 = Arg(), A2 = Arg(), A3 = Arg(), A4 = Arg(), A5 = Arg(), A6 = Arg() };
        // Clients 1 and 2 stay, or every later call of theirs would be ENOTAVAIL; the bystander stays untouched.
        if (fid == OpteeSmc.VmDestroyed && ((uint)call.A1 is 1 or 2 || (uint)call.A1 == bystander)) call.A1 = (uint)random.Next(5, 9);
        if (fid is OpteeSmc.CallWithArg or OpteeSmc.CallWithRpcArg)
        {
            ulong at = Window + (ulong)random.Next(WindowSize / 8) * 8;
            if (random.Next(10) == 0) at += (ulong)random.Next(8);
            call.A1 = at >> 32;
            call.A2 = (uint)at;
            if (random.Next(2) == 0 && mine.TryGetValue(client, out var own)) WritePlausibleArg(machine, at, own.Sessions, own.Cookies);
            else WriteRandomArg(machine, at);
        }
        else if (fid == OpteeSmc.CallWithRegdArg && random.Next(2) == 0)
        {
            ulong cookie = cookies[random.Next(cookies.Count)];
            call.A1 = cookie >> 32;
            call.A2 = (uint)cookie;
            call.A3 = (ulong)random.Next(12000);
        }
        if (random.Next(4) == 0) WriteRandomPageList(machine);
        return call;
    }

    private ulong Arg() => random.Next(4) switch
    {
        0 => (ulong)random.Next(16),
        1 => Address(),
        2 => cookies[random.Next(cookies.Count)],
        _ => (ulong)random.NextInt64() * 2 + (ulong)random.Next(2),
    };

    private ulong Address() => random.Next(5) switch
    {
        0 => Window + (ulong)random.Next(WindowSize / 4096) * 4096,
        1 => Window + (ulong)random.Next(WindowSize),
        2 => TestMachine.RamBase + (ulong)random.Next(4 * TestMachine.GuestRam),
        3 => 0,
        _ => (ulong)random.NextInt64(),
    };

    private ulong Size() => random.Next(4) switch
    {
        0 => 0,
        1 => (ulong)random.Next(64),
        2 => (ulong)random.Next(20000),
        _ => (ulong)random.NextInt64() * 2,
    };

    private void WriteRandomArg(TestMachine machine, ulong at)
    {
        int room = (int)Math.Min(7 * 32 + 32 + 160, Window + WindowSize - at);
        if (room < 32 || at < Window) return;
        var bytes = machine.Memory.At(at, room);
        random.NextBytes(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, random.Next(12) == 0 ? (uint)random.NextInt64() : (uint)random.Next(8));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], (uint)random.Next(6));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], random.Next(4) == 0 ? (uint)random.NextInt64() : sessions[random.Next(sessions.Count)]);
        uint count = random.Next(10) == 0 ? (uint)random.NextInt64() : (uint)random.Next(8);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[28..], count);
        for (int p = 0; p < Math.Min(count, 7) && 32 + 32 * p + 32 <= room; p++)
        {
            var param = bytes[(32 + 32 * p)..];
            ulong attr = Attrs[random.Next(Attrs.Length)];
            if (random.Next(3) == 0 && p < 2) attr = OpteeMsg.AttrTypeValueInput | OpteeMsg.AttrMeta;
            BinaryPrimitives.WriteUInt64LittleEndian(param, attr);
            if (attr == (OpteeMsg.AttrTypeValueInput | OpteeMsg.AttrMeta) && p == 0)
                Uuids[random.Next(Uuids.Length)].TryWriteBytes(param[8..], bigEndian: true, out _);
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(param[8..], random.Next(2) == 0 ? Address() : Size());
                BinaryPrimitives.WriteUInt64LittleEndian(param[16..], Size());
                BinaryPrimitives.WriteUInt64LittleEndian(param[24..], random.Next(2) == 0 ? cookies[random.Next(cookies.Count)] : Arg());
            }
        }
        // Random closes and unregisters would soon leave the well-formed messages nothing to reach: they may
        // name anything but the echo sessions and the registered buffers those messages use.
        uint cmd = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if (cmd == OpteeMsg.CmdCloseSession && protectedSessions.Contains(BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..])))
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], (uint)random.Next(100, 1000));
        if (cmd == OpteeMsg.CmdUnregisterShm && room >= 64) BinaryPrimitives.WriteUInt64LittleEndian(bytes[56..], (ulong)random.NextInt64());
    }

    /// <summary>A message that could have come from a driver: the client's own sessions and cookies, sizes that fit.</summary>
    private void WritePlausibleArg(TestMachine machine, ulong at, List<uint> ownSessions, List<ulong> ownCookies)
    {
        if (at + 7 * 32 + 32 + 160 > Window + WindowSize || (at & 7) != 0) return;
        int count = random.Next(5);
        var ps = new Param[count];
        for (int p = 0; p < count; p++)
        {
            ulong tmem = Window + (ulong)random.Next(WindowSize / 2);
            ps[p] = random.Next(6) switch
            {
                0 => Param.ValueIn((ulong)random.NextInt64(), (ulong)random.Next(100)),
                1 => Param.ValueOut,
                2 => Param.Tmem((ulong)(9 + random.Next(3)), tmem, (ulong)random.Next(2048)),
                3 => Param.None,
                _ => Param.Rmem((ulong)(5 + random.Next(3)), (ulong)random.Next(100), (ulong)random.Next(1, 4000),
                    ownCookies[random.Next(ownCookies.Count)]),
            };
        }
        uint func = (uint)random.Next(6);
        uint session = ownSessions[random.Next(ownSessions.Count)];
        if (random.Next(2) == 0)
        {
            // The echo TA's RPC round trip or its null command, well formed: the calls that go deepest.
            session = ownSessions[random.Next(2) * 4];
            func = random.Next(3) == 0 ? EchoTa.CmdNull : EchoTa.CmdRpcRoundTrip;
            if (count == 0) ps = [Param.None];
            ps[0] = Param.Rmem(OpteeMsg.AttrTypeRmemInout, (ulong)random.Next(100), (ulong)random.Next(1, 4000), ownCookies[random.Next(ownCookies.Count)]);
            count = ps.Length;
        }
        // Never close or unregister here: the random messages would soon have nothing left to reach.
        uint cmd = random.Next(10) == 0 ? OpteeMsg.CmdCancel : OpteeMsg.CmdInvokeCommand;
        var bytes = machine.Memory.At(at, OpteeMsg.ArgSize(count));
        bytes.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, cmd);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], func);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], session);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[28..], (uint)count);
        for (int p = 0; p < count; p++)
        {
            var param = bytes[(32 + 32 * p)..];
            BinaryPrimitives.WriteUInt64LittleEndian(param, ps[p].Attr);
            BinaryPrimitives.WriteUInt64LittleEndian(param[8..], ps[p].A);
            BinaryPrimitives.WriteUInt64LittleEndian(param[16..], ps[p].B);
            BinaryPrimitives.WriteUInt64LittleEndian(param[24..], ps[p].C);
        }
    }

    private void WriteRandomPageList(TestMachine machine)
    {
        ulong page = Window + (ulong)random.Next(WindowSize / 4096) * 4096;
        var entries = machine.Memory.At(page, 4096);
        for (int e = 0; e < 512; e++)
            BinaryPrimitives.WriteUInt64LittleEndian(entries[(8 * e)..], random.Next(3) switch
            {
                0 => Window + (ulong)random.Next(WindowSize / 4096) * 4096,
                1 => Address(),
                _ => (ulong)random.NextInt64(),
            });
    }

    private void Check(int i, uint fid, SecureCall request, SecureCall result, TestMachine machine)
    {
        ulong a0 = result.A0;
        bool defined;
        if (Array.IndexOf(OpteeYielding, fid) >= 0) defined = a0 <= uint.MaxValue && Array.IndexOf(YieldingStatus, (uint)a0) >= 0;
        else if (Array.IndexOf(OpteeFast, fid) >= 0) defined = Fast(fid, a0);
        else if (Array.IndexOf(Sip, fid) >= 0) defined = SipAnswer(fid, a0);
        else defined = a0 == ulong.MaxValue;
        Assert.True(defined, $"call {i}: function 0x{fid:x8} from client {request.ClientId} answered 0x{a0:x}");
        if (Array.IndexOf(OpteeYielding, fid) >= 0)
        {
            Count((uint)a0 switch
            {
                OpteeSmc.ReturnEBadAddr => "EBADADDR",
                OpteeSmc.ReturnEThreadLimit => "ETHREAD_LIMIT",
                OpteeSmc.ReturnEResume => "ERESUME",
                OpteeSmc.ReturnENotAvail => "ENOTAVAIL",
                OpteeSmc.ReturnEBadCmd => "EBADCMD",
                OpteeSmc.ReturnOk => "ok",
                _ => "rpc",
            });
            if (fid == OpteeSmc.ReturnFromRpc && (uint)a0 != OpteeSmc.ReturnEResume && (uint)a0 != OpteeSmc.ReturnENotAvail) Count("resumed");
        }

        // A completed message carries a GlobalPlatform result.
        if (fid is OpteeSmc.CallWithArg or OpteeSmc.CallWithRpcArg && a0 == OpteeSmc.ReturnOk)
        {
            ulong at = OpteeSmc.Pair(request.A1, request.A2);
            uint ret = BinaryPrimitives.ReadUInt32LittleEndian(machine.Memory.At(at + 20, 4));
            Assert.True(ret == 0 || (ret & 0xFFFF_0000) == 0xFFFF_0000, $"call {i}: ret 0x{ret:x8}");
            Count(ret == 0 ? "success" : "tee error");
        }
    }

    private static bool Fast(uint fid, ulong a0) => fid switch
    {
        OpteeSmc.VmCreated or OpteeSmc.VmDestroyed => a0 is OpteeSmc.ReturnOk or OpteeSmc.ReturnENotAvail,
        OpteeSmc.ExchangeCapabilities or OpteeSmc.GetThreadCount or OpteeSmc.EnableShmCache or OpteeSmc.DisableShmCache =>
            a0 is OpteeSmc.ReturnOk or OpteeSmc.ReturnENotAvail or OpteeSmc.ReturnEBusy,
        OpteeSmc.GetShmConfig or OpteeSmc.EnableAsyncNotif or OpteeSmc.GetAsyncNotifValue => a0 == OpteeSmc.ReturnENotAvail,
        _ => a0 <= uint.MaxValue, // UIDs and revisions: data in W0
    };

    private static bool SipAnswer(uint fid, ulong a0) => fid switch
    {
        PlatformFirmware.ClockSet or PlatformFirmware.ClockGet or PlatformFirmware.DeviceReset =>
            (long)a0 is SmcccStatus.Success or SmcccStatus.InvalidParameter,
        PlatformFirmware.SocId => a0 is PlatformFirmware.SocVersion or PlatformFirmware.SocRevision || (long)a0 == SmcccStatus.InvalidParameter,
        _ => a0 <= uint.MaxValue,
    };
}
