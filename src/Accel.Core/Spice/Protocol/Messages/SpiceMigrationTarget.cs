using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Protocol.Messages;

/// <summary>
/// The destination carried by the main channel's MIGRATE_BEGIN (101), MIGRATE_SWITCH_HOST (111) and
/// MIGRATE_BEGIN_SEAMLESS (116): u16 port, u16 sport, u32 host_size, ptr host_data, u32 cert_subject_size,
/// ptr cert_subject_data (pointers are u32 offsets from the body start, 0 = NULL; sizes include the NUL),
/// plus u32 src_mig_version for the seamless variant. The client connects there directly, so an edge rewrites it.
/// </summary>
internal sealed record SpiceMigrationTarget
{
    private const int DstInfoLength = 20;

    public required SpiceMainMsg Kind { get; init; }

    /// <summary>Plain port; 0 or 0xFFFF (-1) when the destination has none.</summary>
    public required ushort Port { get; init; }

    /// <summary>TLS port; 0 or 0xFFFF (-1) when the destination has none.</summary>
    public required ushort SecurePort { get; init; }

    public required string Host { get; init; }

    /// <summary>The destination's TLS certificate subject, or null.</summary>
    public string? CertSubject { get; init; }

    /// <summary>MIGRATE_BEGIN_SEAMLESS only.</summary>
    public uint SourceMigrationVersion { get; init; }

    public static bool IsMigrationTargetMessage(ushort type) =>
        type is (ushort)SpiceMainMsg.MigrateBegin or (ushort)SpiceMainMsg.MigrateSwitchHost or (ushort)SpiceMainMsg.MigrateBeginSeamless;

    private int FixedLength => Kind == SpiceMainMsg.MigrateBeginSeamless ? DstInfoLength + 4 : DstInfoLength;

    public int BodyLength =>
        FixedLength + Encoding.UTF8.GetByteCount(Host) + 1 + (CertSubject is null ? 0 : Encoding.UTF8.GetByteCount(CertSubject) + 1);

    public static SpiceMigrationTarget Parse(ushort type, in ReadOnlySequence<byte> body)
    {
        if (!IsMigrationTargetMessage(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Not a main-channel migration target message.");
        }

        var kind = (SpiceMainMsg)type;
        var reader = new SpiceReader(body, "migration destination");
        var port = reader.ReadUInt16();
        var securePort = reader.ReadUInt16();
        var hostSize = reader.ReadUInt32();
        var hostOffset = reader.ReadUInt32();
        var subjectSize = reader.ReadUInt32();
        var subjectOffset = reader.ReadUInt32();
        var version = kind == SpiceMainMsg.MigrateBeginSeamless ? reader.ReadUInt32() : 0;

        // host_data is @nonnull in DstInfo (BEGIN, BEGIN_SEAMLESS) but may be NULL in SWITCH_HOST.
        if (hostOffset == 0 && kind != SpiceMainMsg.MigrateSwitchHost)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidOffset, "Migration host pointer is NULL.");
        }

        var host = ReadString(body, hostOffset, hostSize, "host") ?? string.Empty;
        var subject = ReadString(body, subjectOffset, subjectSize, "cert subject");
        return new SpiceMigrationTarget
        {
            Kind = kind,
            Port = port,
            SecurePort = securePort,
            Host = host,
            CertSubject = subject,
            SourceMigrationVersion = version,
        };
    }

    /// <summary>A copy that sends the client to <paramref name="host"/> (e.g. the client-side edge) instead.</summary>
    public SpiceMigrationTarget RedirectTo(string host, ushort port, ushort securePort, string? certSubject) =>
        this with { Host = host, Port = port, SecurePort = securePort, CertSubject = certSubject };

    /// <summary>Writes the whole message (header and body), strings right after the fixed part.</summary>
    public void WriteTo(SpiceMessageWriter writer, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(output);
        var length = BodyLength;
        writer.WriteHeader(output, (ushort)Kind, length);
        var span = output.GetSpan(length)[..length];
        span.Clear();
        var hostOffset = FixedLength;
        var hostLength = Encoding.UTF8.GetBytes(Host, span[hostOffset..]);
        var subjectOffset = hostOffset + hostLength + 1;
        BinaryPrimitives.WriteUInt16LittleEndian(span, Port);
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], SecurePort);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)(hostLength + 1));
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)hostOffset);
        if (CertSubject is not null)
        {
            var subjectLength = Encoding.UTF8.GetBytes(CertSubject, span[subjectOffset..]);
            BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)(subjectLength + 1));
            BinaryPrimitives.WriteUInt32LittleEndian(span[16..], (uint)subjectOffset);
        }

        if (Kind == SpiceMainMsg.MigrateBeginSeamless)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[20..], SourceMigrationVersion);
        }

        output.Advance(length);
    }

    /// <summary>
    /// Reads a zero-terminated byte array the way spice's demarshaller does: <paramref name="size"/> bytes at
    /// <paramref name="offset"/> that must lie inside the body; the string ends at the first NUL. NULL pointer → null.
    /// </summary>
    private static string? ReadString(in ReadOnlySequence<byte> body, uint offset, uint size, string what)
    {
        if (offset == 0)
        {
            return null;
        }

        if (offset >= body.Length || size > body.Length - offset)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidOffset, $"Migration {what} ({size} bytes at {offset}) is outside the {body.Length}-byte body.");
        }

        var bytes = body.Slice(offset, size);
        var nul = bytes.PositionOf((byte)0);
        if (nul is { } end)
        {
            bytes = bytes.Slice(0, end);
        }

        return Encoding.UTF8.GetString(bytes);
    }
}
