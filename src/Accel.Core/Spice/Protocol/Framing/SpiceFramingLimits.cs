namespace Accel.Core.Spice.Protocol.Framing;

/// <summary>
/// Largest message body accepted per channel type. A header announcing more is a protocol error raised before the
/// body is buffered. Defaults leave room for what real servers and clients send.
/// </summary>
internal sealed record SpiceFramingLimits
{
    public static SpiceFramingLimits Default { get; } = new();

    /// <summary>Display: a full uncompressed 4K surface image is 33 MB.</summary>
    public int MaxDisplayMessage { get; init; } = 64 * 1024 * 1024;

    /// <summary>Main: the network-test ping is 256 000 bytes; agent data is ≤ 2 KiB per message; migration data is larger.</summary>
    public int MaxMainMessage { get; init; } = 4 * 1024 * 1024;

    /// <summary>Inputs: keys and pointer, a few bytes each.</summary>
    public int MaxInputsMessage { get; init; } = 64 * 1024;

    /// <summary>Cursor: up to 256×256 ARGB plus headers.</summary>
    public int MaxCursorMessage { get; init; } = 4 * 1024 * 1024;

    /// <summary>Playback and record: audio frames.</summary>
    public int MaxAudioMessage { get; init; } = 1024 * 1024;

    /// <summary>Usbredir, port, webdav, smartcard, and anything unknown.</summary>
    public int MaxOtherMessage { get; init; } = 16 * 1024 * 1024;

    public int For(SpiceChannelType channelType) => channelType switch
    {
        SpiceChannelType.Display => MaxDisplayMessage,
        SpiceChannelType.Main => MaxMainMessage,
        SpiceChannelType.Inputs => MaxInputsMessage,
        SpiceChannelType.Cursor => MaxCursorMessage,
        SpiceChannelType.Playback or SpiceChannelType.Record => MaxAudioMessage,
        _ => MaxOtherMessage,
    };
}
