namespace Accel.Core.Spice.Protocol;

/// <summary>SPICE channel types (spice/enums.h). Unknown values can still appear on the wire.</summary>
internal enum SpiceChannelType : byte
{
    Main = 1,
    Display = 2,
    Inputs = 3,
    Cursor = 4,
    Playback = 5,
    Record = 6,
    /// <summary>Obsolete; current servers have no tunnel channel.</summary>
    Tunnel = 7,
    Smartcard = 8,
    UsbRedir = 9,
    Port = 10,
    WebDav = 11,
}

/// <summary>Who sent a message. Message type numbers are per channel and per direction.</summary>
internal enum SpiceDirection : byte
{
    ServerToClient,
    ClientToServer,
}

internal static class SpiceChannelTypeExtensions
{
    /// <summary>The channels that carry SpiceVMC data messages (usbredir, port, webdav).</summary>
    public static bool IsSpiceVmc(this SpiceChannelType channelType) =>
        channelType is SpiceChannelType.UsbRedir or SpiceChannelType.Port or SpiceChannelType.WebDav;

    /// <summary>Lower-case name used in metrics labels ("main", "display", …, "unknown").</summary>
    public static string ToLabel(this SpiceChannelType channelType) => channelType switch
    {
        SpiceChannelType.Main => "main",
        SpiceChannelType.Display => "display",
        SpiceChannelType.Inputs => "inputs",
        SpiceChannelType.Cursor => "cursor",
        SpiceChannelType.Playback => "playback",
        SpiceChannelType.Record => "record",
        SpiceChannelType.Tunnel => "tunnel",
        SpiceChannelType.Smartcard => "smartcard",
        SpiceChannelType.UsbRedir => "usbredir",
        SpiceChannelType.Port => "port",
        SpiceChannelType.WebDav => "webdav",
        _ => "unknown",
    };
}
