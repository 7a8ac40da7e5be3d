using Accel.Core.Spice.Protocol;
using Accel.Core.Transport;

namespace Accel.Core.Edges;

/// <summary>
/// The one place that says how urgent SPICE traffic is on the WAN: each class of channel gets an RFC 9218-style
/// urgency (0 most urgent … 7) for its QUIC stream. The transport and its scheduler know only urgencies; urgencies
/// 0–2 are served strictly, 3–7 share by weight (<c>SchedulerOptions</c>).
/// </summary>
internal static class ChannelClasses
{
    /// <summary>Edge-to-edge control (session setup, pings).</summary>
    public const byte Control = 0;

    /// <summary>The inputs channel: keys and pointer.</summary>
    public const byte Input = 1;

    /// <summary>The cursor channel.</summary>
    public const byte Cursor = 2;

    /// <summary>The main channel and the agent (RFC 9218's default urgency); also a stream whose channel is not known yet.</summary>
    public const byte Main = StreamUrgency.Default;

    /// <summary>Display channels.</summary>
    public const byte Display = 4;

    /// <summary>Playback/record, usbredir, port, webdav, smartcard.</summary>
    public const byte Bulk = 5;

    /// <summary>WAN urgency of a channel: inputs, cursor, main, display, then everything else as bulk.</summary>
    public static byte ToUrgency(this SpiceChannelType channelType) => channelType switch
    {
        SpiceChannelType.Inputs => Input,
        SpiceChannelType.Cursor => Cursor,
        SpiceChannelType.Main => Main,
        SpiceChannelType.Display => Display,
        _ => Bulk,
    };
}
