using System.Buffers.Binary;
using System.Security.Cryptography;
using Jit.SecureWorld.Optee;
using Jit.SecureWorld.TrustedApplications;

namespace Jit.SecureWorld.Tests;

public class ContentDecryptionTaTests
{
    /// <summary>AES-128-CTR computed here, independently: ECB of the counter blocks, IV first, +1 per block mod 2^128.</summary>
    private static byte[] ReferenceCtr(byte[] key, byte[] iv, byte[] input)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        int blocks = (input.Length + 15) / 16;
        var counters = new byte[blocks * 16];
        var counter = new System.Numerics.BigInteger(iv, isUnsigned: true, isBigEndian: true);
        var modulus = System.Numerics.BigInteger.One << 128;
        for (int b = 0; b < blocks; b++)
        {
            var bytes = ((counter + b) % modulus).ToByteArray(isUnsigned: true, isBigEndian: true);
            bytes.CopyTo(counters, b * 16 + 16 - bytes.Length);
        }
        var stream = aes.EncryptEcb(counters, PaddingMode.None);
        return input.Select((x, i) => (byte)(x ^ stream[i])).ToArray();
    }

    private static (LinuxOpteeDriver, uint) Open(TestMachine machine, uint keyId)
    {
        var guest = machine.Guest(0);
        var open = guest.OpenSession(ContentDecryptionTa.TaUuid, OpteeMsg.LoginApplication, Param.ValueIn(keyId));
        Assert.Equal(TeeResult.Success, open.Ret);
        return (guest, open.Session);
    }

    [Theory]
    [InlineData(1u, 20_000, "000102030405060708090a0b0c0d0e0f")]
    [InlineData(3u, 1_023, "fffffffffffffffffffffffffffffffe")] // the counter carries across all 128 bits
    [InlineData(2u, 17, "0000000000000000ffffffffffffffff")]   // and from the low half into the high half
    public void A_sample_decrypts_as_AES_128_CTR_computed_independently(uint keyId, int length, string ivHex)
    {
        var machine = new TestMachine();
        var (guest, session) = Open(machine, keyId);
        byte[] iv = Convert.FromHexString(ivHex), sample = new byte[length];
        new Random(length).NextBytes(sample);
        var shm = guest.Register(2 * length + 16, pageOffset: 0x123);
        shm.Write(0, iv);
        shm.Write(16, sample);

        var r = guest.Invoke(session, ContentDecryptionTa.CmdDecrypt, Param.In(shm, 16, length), Param.Out(shm, 16 + length, length),
            Param.In(shm, 0, 16));
        Assert.Equal(TeeResult.Success, r.Ret);
        Assert.Equal((ulong)length, r.Params[1].B);
        var key = keyId switch
        {
            1 => Enumerable.Range(0, 16).Select(i => (byte)i).ToArray(),
            2 => Convert.FromHexString("2b7e151628aed2a6abf7158809cf4f3c"),
            _ => Enumerable.Range(0, 16).Select(i => (byte)(0xFF - i)).ToArray(),
        };
        Assert.Equal(ReferenceCtr(key, iv, sample), shm.Read(16 + length, length));
    }

    [Fact]
    public void Key_2_reproduces_NIST_SP_800_38A_F_5_1()
    {
        var machine = new TestMachine();
        var (guest, session) = Open(machine, 2);
        var shm = guest.Register(64);
        shm.Write(0, Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"));
        shm.Write(16, Convert.FromHexString("6bc1bee22e409f96e93d7e117393172a"));
        var r = guest.Invoke(session, ContentDecryptionTa.CmdDecrypt, Param.In(shm, 16, 16), Param.Out(shm, 32, 16), Param.In(shm, 0, 16));
        Assert.Equal(TeeResult.Success, r.Ret);
        Assert.Equal("874D6191B620E3261BEF6864990DB6CE", Convert.ToHexString(shm.Read(32, 16)));
    }

    [Fact]
    public void An_unknown_key_a_short_output_and_a_wrong_IV_are_refused()
    {
        var machine = new TestMachine();
        var guest = machine.Guest(0);
        Assert.Equal(TeeResult.ErrorItemNotFound,
            guest.OpenSession(ContentDecryptionTa.TaUuid, OpteeMsg.LoginApplication, Param.ValueIn(77)).Ret);
        var session = guest.OpenSession(ContentDecryptionTa.TaUuid, OpteeMsg.LoginApplication, Param.ValueIn(1)).Session;
        var shm = guest.Register(256);
        var shortOut = guest.Invoke(session, ContentDecryptionTa.CmdDecrypt, Param.In(shm, 16, 100), Param.Out(shm, 128, 50), Param.In(shm, 0, 16));
        Assert.Equal((TeeResult.ErrorShortBuffer, 100ul), (shortOut.Ret, shortOut.Params[1].B));
        var badIv = guest.Invoke(session, ContentDecryptionTa.CmdDecrypt, Param.In(shm, 16, 100), Param.Out(shm, 128, 100), Param.In(shm, 0, 8));
        Assert.Equal(TeeResult.ErrorBadParameters, badIv.Ret);
    }

    [Fact]
    public void Steady_state_decryption_allocates_nothing()
    {
        var machine = new TestMachine();
        var (guest, session) = Open(machine, 1);
        var shm = guest.Register(3 * 16384);
        // A video sample of 16 KiB decrypted again and again through the call Linux makes (CALL_WITH_REGD_ARG).
        var first = guest.Invoke(session, ContentDecryptionTa.CmdDecrypt, Param.In(shm, 16, 16384), Param.Out(shm, 16400, 16384), Param.In(shm, 0, 16));
        Assert.Equal(TeeResult.Success, first.Ret);
        var image = RegdCall(guest, session, shm, out var call);
        // Past the runtime's tier-up (30 calls) first. Then three windows: an allocation per call shows in every
        // one; a one-off of the runtime's own (a method promoted meanwhile) in one window at most.
        for (int i = 0; i < 100; i++) Run(machine, guest, image, ref call);
        var windows = new long[3];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++) Run(machine, guest, image, ref call);
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(windows.Min() == 0, $"bytes allocated per 50 decryptions: {string.Join(", ", windows)}");
    }

    private static (ulong At, byte[] Bytes) RegdCall(LinuxOpteeDriver guest, uint session, RegisteredShm shm, out SecureCall call)
    {
        // The argument struct in its own registered page, as optee_get_msg_arg's cache places it.
        var argPage = guest.Register(4096);
        ulong at = argPage.Address(0);
        guest.WriteArg(at, OpteeMsg.CmdInvokeCommand, ContentDecryptionTa.CmdDecrypt, session, 0,
            [Param.In(shm, 16, 16384), Param.Out(shm, 16400, 16384), Param.In(shm, 0, 16)]);
        call = new SecureCall(OpteeSmc.CallWithRegdArg, guest.ClientId) { A1 = argPage.Cookie >> 32, A2 = (uint)argPage.Cookie };
        return (at, argPage.Read(0, OpteeMsg.ArgSize(3)));
    }

    private static void Run(TestMachine machine, LinuxOpteeDriver guest, (ulong At, byte[] Bytes) image, ref SecureCall call)
    {
        image.Bytes.CopyTo(machine.Memory.At(image.At, image.Bytes.Length));
        var c = call;
        machine.Monitor.Smc(ref c);
        if ((uint)c.A0 != OpteeSmc.ReturnOk || BinaryPrimitives.ReadUInt32LittleEndian(machine.Memory.At(image.At + 20, 4)) != 0)
            Assert.Fail("decrypt failed");
    }
}
