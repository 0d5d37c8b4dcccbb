using System.Buffers.Binary;

namespace Jit.Devices.Nvme;

/// <summary>
/// The log pages Get Log Page returns (NVMe 1.4 5.14.1): Error Information (one entry, always empty: errors are
/// reported in completions only), SMART / Health Information (the I/O counters this controller keeps, a healthy
/// device at a constant temperature) and Firmware Slot Information (slot 1 active). Each is built on request
/// into a buffer the caller owns.
/// </summary>
internal sealed class LogPages
{
    // 5.14.1, figure "Log Page Identifiers".
    public const byte ErrorInformation = 0x01, SmartHealthInformation = 0x02, FirmwareSlotInformation = 0x03;

    public const int ErrorEntrySize = 64, SmartSize = 512, FirmwareSlotSize = 512;

    // SMART / Health Information, byte offsets.
    private const int CompositeTemperature = 1, AvailableSpare = 3, AvailableSpareThreshold = 4, DataUnitsRead = 32,
        DataUnitsWritten = 48, HostReadCommands = 64, HostWriteCommands = 80, PowerCycles = 112, MediaErrors = 160;
    private const ushort TemperatureKelvin = 303;

    // The counters SMART reports, for the controller's lifetime (a reset keeps them); guarded by the controller's lock.
    public ulong BlocksRead, BlocksWritten, ReadCommands, WriteCommands, MediaErrorCount;

    /// <summary>The size of log <paramref name="id"/>, or 0 when this controller has no such log.</summary>
    public static int SizeOf(byte id) => id switch
    {
        ErrorInformation => ErrorEntrySize * IdentifyData.ErrorLogEntries,
        SmartHealthInformation => SmartSize,
        FirmwareSlotInformation => FirmwareSlotSize,
        _ => 0,
    };

    /// <summary>Writes log <paramref name="id"/> into <paramref name="page"/> (<see cref="SizeOf"/> bytes, cleared first).</summary>
    public void Build(byte id, Span<byte> page)
    {
        page.Clear();
        switch (id)
        {
            case SmartHealthInformation:
                BinaryPrimitives.WriteUInt16LittleEndian(page[CompositeTemperature..], TemperatureKelvin);
                page[AvailableSpare] = 100;
                page[AvailableSpareThreshold] = 10;
                // Data units are thousands of 512-byte units, rounded up.
                WriteCounter(page[DataUnitsRead..], (BlocksRead + 999) / 1000);
                WriteCounter(page[DataUnitsWritten..], (BlocksWritten + 999) / 1000);
                WriteCounter(page[HostReadCommands..], ReadCommands);
                WriteCounter(page[HostWriteCommands..], WriteCommands);
                WriteCounter(page[PowerCycles..], 1);
                WriteCounter(page[MediaErrors..], MediaErrorCount);
                break;
            case FirmwareSlotInformation:
                page[0] = 1; // AFI: slot 1 is active
                for (int i = 0; i < 8; i++)
                    page[8 + i] = i < IdentifyData.FirmwareRevision.Length ? (byte)IdentifyData.FirmwareRevision[i] : (byte)' ';
                break;
        }
    }

    /// <summary>The SMART counters are 16-byte little-endian numbers.</summary>
    private static void WriteCounter(Span<byte> field, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(field, value);
}
