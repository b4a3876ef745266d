namespace FedActors.Tests.Host;

/// <summary>Reads TensorBoard event files record by record, checking the TFRecord framing's masked CRC-32C.</summary>
public static class TensorBoardFiles
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    private static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        crc ^= 0xFFFFFFFFu;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    public static List<Tensorboard.Event> Read(string file)
    {
        using var reader = new BinaryReader(File.OpenRead(file));
        var events = new List<Tensorboard.Event>();
        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            var header = reader.ReadBytes(8);
            Assert.Equal(MaskedCrc(header), reader.ReadUInt32());
            var data = reader.ReadBytes((int)BitConverter.ToUInt64(header));
            Assert.Equal(MaskedCrc(data), reader.ReadUInt32());
            events.Add(Tensorboard.Event.Parser.ParseFrom(data));
        }
        return events;
    }
}
