using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Accel.Core.Transport;

namespace Accel.Core.Edges;

/// <summary>What the server edge answers to an <see cref="EdgeRequest"/>.</summary>
public enum EdgeStatus : byte
{
    Ok = 0,
    /// <summary>The allow-list does not permit the backend.</summary>
    NotAllowed = 1,
    /// <summary>The backend refused the TCP connection.</summary>
    BackendRefused = 2,
    /// <summary>The backend did not answer in time, or its name does not resolve.</summary>
    BackendUnreachable = 3,
    /// <summary>The request was malformed.</summary>
    BadRequest = 4,
    /// <summary>The server edge is shutting down or overloaded.</summary>
    Unavailable = 5,
}

/// <summary>
/// The first bytes on every edge-to-edge stream: which backend the client edge wants, and the stream's class.
/// </summary>
/// <remarks>
/// Wire format (little-endian):
/// <code>
///   "SAE1" magic (4) | version u8 = 1 | flags u8 | urgency u8 | channel type u8 | port u16 | host length u8 | host UTF-8
///   [ token (16) ]                  with ResumableFlag
///   [ token (16) | read offset u64 ] with ResumeFlag
/// </code>
/// An OK answer to a resume is followed by the server edge's read offset (u64), then the bytes it replays.
/// The answer is <c>status u8 | reason length u8 | reason UTF-8</c>; after an <see cref="EdgeStatus.Ok"/> answer the
/// stream carries the SPICE channel.
/// <para>
/// Flags: <see cref="OpaqueTargetFlag"/> (0x01) says the host field is an HTTP CONNECT target the client edge could
/// not read as host:port (Proxmox's <c>pvespiceproxy:…:61000</c>), to be passed verbatim to the server edge's upstream
/// proxy; the port field is then its trailing number, or 0. <see cref="PreviewsFlag"/> (0x02) says the client edge takes
/// display previews (datagrams and stream markers, <see cref="Spice.Display.DisplayPreviewWire"/>). Requests without
/// flags are what every version sends and parses. <see cref="InputDatagramsFlag"/> (0x04) says the client edge sends
/// an inputs channel's pointer as datagrams and its inputs with markers and copies (<see cref="Spice.Input.InputWire"/>).
/// A server edge refuses flag bits it does not know with <see cref="EdgeStatus.BadRequest"/> and the reason
/// "unknown flags 0x…"; a client edge that meets that answer opens the channel again without its optional flags
/// (<see cref="OptionalFlags"/>) and asks that server edge for none again on that connection.
/// <see cref="ResumableFlag"/> (0x08) and <see cref="ResumeFlag"/> (0x10) carry a resumable channel's token (and for a
/// resume the client edge's read offset) after the host. Resumable is optional (an older server edge serves the channel
/// without it, which then ends with its connection); a resume needs a server edge of this version or later.
/// <see cref="CompressedFlag"/> (0x20, optional) says both directions of the channel after the request and the answer
/// are <see cref="Relay.Compression.WanCodec"/> blocks (the client edge's early bytes too).
/// </para>
/// </remarks>
public readonly record struct EdgeRequest(string Host, ushort Port, byte Urgency, byte ChannelType, byte Flags = 0)
{
    /// <summary>The channel may be resumed on a new connection: its 16-byte token follows the host.</summary>
    public const byte ResumableFlag = 0x08; // 0x04 is InputDatagramsFlag on main (issue #16)

    /// <summary>Resumes the channel whose token follows the host, then the client edge's read offset (u64).</summary>
    public const byte ResumeFlag = 0x10;

    public const int TokenLength = 16;

    /// <summary>The host field is an opaque CONNECT target for the upstream proxy.</summary>
    public const byte OpaqueTargetFlag = 0x01;

    /// <summary>The client edge strips display preview markers and shows preview datagrams.</summary>
    public const byte PreviewsFlag = 0x02;
    /// <summary>The client edge sends pointer datagrams, pointer markers and input copies on this inputs channel.</summary>
    public const byte InputDatagramsFlag = 0x04;

    /// <summary>The channel's bytes go as <see cref="Relay.Compression.WanCodec"/> blocks both ways (issue #12).</summary>
    public const byte CompressedFlag = 0x20;

    /// <summary>Flags a client edge may drop and still be served (features, not addressing).</summary>
    public const byte OptionalFlags = PreviewsFlag | InputDatagramsFlag | ResumableFlag | CompressedFlag;
    private const byte KnownFlags = OpaqueTargetFlag | PreviewsFlag | InputDatagramsFlag | ResumableFlag | ResumeFlag | CompressedFlag;
    private const string UnknownFlagsReason = "unknown flags 0x";

    public const int MaxHostLength = 255;
    public const int FixedLength = 11;
    public const int MaxLength = FixedLength + MaxHostLength + TokenLength + sizeof(long);
    public const int MaxResponseLength = 2 + 255;
    private const byte Version = 1;
    private static ReadOnlySpan<byte> Magic => "SAE1"u8;

    /// <summary>True when <see cref="Host"/> is an opaque CONNECT target rather than a host name or address.</summary>
    public bool IsOpaqueTarget => (Flags & OpaqueTargetFlag) != 0;

    /// <summary>The resume token (<see cref="ResumableFlag"/> or <see cref="ResumeFlag"/>), else empty.</summary>
    public ReadOnlyMemory<byte> Token { get; init; }

    /// <summary>With <see cref="ResumeFlag"/>: how many channel bytes the client edge has read.</summary>
    public long ResumeOffset { get; init; }

    public bool IsResumable => (Flags & ResumableFlag) != 0;

    public bool IsResume => (Flags & ResumeFlag) != 0;

    private int ExtensionLength => IsResume ? TokenLength + sizeof(long) : IsResumable ? TokenLength : 0;

    /// <summary>True when the client edge takes display previews.</summary>
    public bool TakesPreviews => (Flags & PreviewsFlag) != 0;

    /// <summary>True when the client edge sends this inputs channel's pointer as datagrams (with markers and copies).</summary>
    public bool SendsInputDatagrams => (Flags & InputDatagramsFlag) != 0;

    /// <summary>True when the channel's bytes are <see cref="Relay.Compression.WanCodec"/> blocks.</summary>
    public bool IsCompressed => (Flags & CompressedFlag) != 0;

    /// <summary>The refusal reason for flag bits a server edge does not know (or does not take).</summary>
    public static string UnknownFlags(byte flags) => UnknownFlagsReason + flags.ToString("x2", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True when a refusal says the server edge does not know some flag (an older server edge).</summary>
    public static bool IsUnknownFlagsRefusal(EdgeStatus status, string reason) =>
        status == EdgeStatus.BadRequest && reason.StartsWith(UnknownFlagsReason, StringComparison.Ordinal);

    /// <summary>
    /// The host for log lines: an opaque target is cut to its first field (<c>pvespiceproxy:…</c>), since Proxmox's
    /// carries a ticket that grants access to the VM's console.
    /// </summary>
    public string LogName => !IsOpaqueTarget ? Host : (Host.IndexOf(':', StringComparison.Ordinal) is var c and > 0 ? Host[..c] + ":…" : "…");

    /// <summary>A request for an opaque CONNECT target, carried verbatim to the server edge's upstream proxy.</summary>
    public static EdgeRequest ForOpaqueTarget(string target, byte urgency, byte channelType)
    {
        var colon = target.LastIndexOf(':');
        var port = colon >= 0 && ushort.TryParse(target.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : (ushort)0;
        return new EdgeRequest(target, port, urgency, channelType, OpaqueTargetFlag);
    }

    /// <summary>
    /// An opaque CONNECT target may be sent on: 1..255 bytes of printable ASCII without spaces (it goes verbatim into
    /// an HTTP request line).
    /// </summary>
    public static bool IsValidOpaqueTarget(ReadOnlySpan<char> target)
    {
        if (target.Length is 0 or > MaxHostLength)
        {
            return false;
        }

        foreach (var c in target)
        {
            if (c is <= ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    public int Write(Span<byte> destination)
    {
        var hostBytes = Encoding.UTF8.GetByteCount(Host);
        if (hostBytes is 0 or > MaxHostLength)
        {
            throw new ArgumentException("host must be 1..255 UTF-8 bytes", nameof(Host));
        }

        Magic.CopyTo(destination);
        destination[4] = Version;
        destination[5] = Flags;
        destination[6] = Urgency;
        destination[7] = ChannelType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], Port);
        destination[10] = (byte)hostBytes;
        Encoding.UTF8.GetBytes(Host, destination[FixedLength..]);
        var n = FixedLength + hostBytes;
        if (ExtensionLength > 0)
        {
            if (Token.Length != TokenLength)
            {
                throw new ArgumentException("a resumable request needs a 16-byte token", nameof(Token));
            }

            Token.Span.CopyTo(destination[n..]);
            n += TokenLength;
            if (IsResume)
            {
                BinaryPrimitives.WriteInt64LittleEndian(destination[n..], ResumeOffset);
                n += sizeof(long);
            }
        }

        return n;
    }

    /// <summary>Parses a request. False when incomplete; <paramref name="error"/> is set when malformed.</summary>
    public static bool TryParse(ReadOnlySequence<byte> buffer, out EdgeRequest request, out int consumed, out string? error)
    {
        request = default;
        consumed = 0;
        error = null;
        if (buffer.Length < FixedLength)
        {
            return false;
        }

        Span<byte> head = stackalloc byte[FixedLength];
        buffer.Slice(0, FixedLength).CopyTo(head);
        if (!head[..4].SequenceEqual(Magic))
        {
            error = "bad magic";
            return false;
        }

        if (head[4] != Version)
        {
            error = "unsupported version " + head[4];
            return false;
        }

        if ((head[5] & ~KnownFlags) != 0)
        {
            error = UnknownFlags(head[5]);
            return false;
        }

        if (head[6] > StreamUrgency.Lowest)
        {
            error = "bad urgency";
            return false;
        }

        int hostLength = head[10];
        if (hostLength == 0)
        {
            error = "empty host";
            return false;
        }

        var extension = (head[5] & ResumeFlag) != 0 ? TokenLength + sizeof(long) : (head[5] & ResumableFlag) != 0 ? TokenLength : 0;
        if ((head[5] & ResumeFlag) != 0 && (head[5] & ResumableFlag) != 0)
        {
            error = "resumable and resume at once";
            return false;
        }

        if (buffer.Length < FixedLength + hostLength + extension)
        {
            return false;
        }

        Span<byte> host = stackalloc byte[hostLength];
        buffer.Slice(FixedLength, hostLength).CopyTo(host);
        string hostText;
        try
        {
            hostText = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(host);
        }
        catch (DecoderFallbackException)
        {
            error = "host is not UTF-8";
            return false;
        }

        if ((head[5] & OpaqueTargetFlag) != 0 && !IsValidOpaqueTarget(hostText))
        {
            error = "opaque target is not printable ASCII";
            return false;
        }

        request = new EdgeRequest(hostText, BinaryPrimitives.ReadUInt16LittleEndian(head[8..]), head[6], head[7], head[5]);
        if (extension > 0)
        {
            var token = new byte[TokenLength];
            buffer.Slice(FixedLength + hostLength, TokenLength).CopyTo(token);
            Span<byte> offset = stackalloc byte[sizeof(long)];
            if ((head[5] & ResumeFlag) != 0)
            {
                buffer.Slice(FixedLength + hostLength + TokenLength, sizeof(long)).CopyTo(offset);
            }
            else
            {
                offset.Clear();
            }

            request = request with { Token = token, ResumeOffset = BinaryPrimitives.ReadInt64LittleEndian(offset) };
            if (request.ResumeOffset < 0)
            {
                error = "negative resume offset";
                request = default;
                return false;
            }
        }

        consumed = FixedLength + hostLength + extension;
        return true;
    }

    public static int WriteResponse(Span<byte> destination, EdgeStatus status, string? reason)
    {
        destination[0] = (byte)status;
        var text = reason ?? string.Empty;
        var max = Math.Min(255, destination.Length - 2);
        var n = Encoding.UTF8.GetByteCount(text) <= max ? Encoding.UTF8.GetBytes(text, destination[2..]) : Encoding.UTF8.GetBytes(text.AsSpan(0, Math.Min(text.Length, max / 4)), destination[2..]);
        destination[1] = (byte)n;
        return 2 + n;
    }

    public static bool TryParseResponse(ReadOnlySpan<byte> buffer, out EdgeStatus status, out string reason, out int consumed)
    {
        status = default;
        reason = string.Empty;
        consumed = 0;
        if (buffer.Length < 2 || buffer.Length < 2 + buffer[1])
        {
            return false;
        }

        status = (EdgeStatus)buffer[0];
        reason = Encoding.UTF8.GetString(buffer.Slice(2, buffer[1]));
        consumed = 2 + buffer[1];
        return true;
    }
}
