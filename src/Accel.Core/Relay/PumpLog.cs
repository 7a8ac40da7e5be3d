using Microsoft.Extensions.Logging;

namespace Accel.Core.Relay;

internal static partial class PumpLog
{
    [LoggerMessage(1201, LogLevel.Warning, "SPICE {Channel} channel closed by the {Edge}: protocol violation: {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, string channel, string edge, string reason);

    [LoggerMessage(1202, LogLevel.Information, "SPICE {Channel} channel relayed as bytes: {Reason}")]
    public static partial void BytesMode(ILogger logger, string channel, string reason);

    [LoggerMessage(1203, LogLevel.Debug, "SPICE {Channel} channel linked (mini header {MiniHeader})")]
    public static partial void Linked(ILogger logger, string channel, bool miniHeader);

    [LoggerMessage(1208, LogLevel.Warning, "SPICE {Channel} channel closed by the {Edge}: {Reason}; other channels go on")]
    public static partial void TimedOut(ILogger logger, string channel, string edge, string reason);

    [LoggerMessage(1207, LogLevel.Information, "SPICE {Channel} channel ended: {Summary}")]
    public static partial void PolicySummary(ILogger logger, string channel, string summary);

    [LoggerMessage(1209, LogLevel.Information, "SPICE {Channel} channel ended: WAN compression sent {Given} bytes as {Sent}, received {Received} bytes as {Decoded}")]
    public static partial void Compression(ILogger logger, string channel, long given, long sent, long received, long decoded);

    [LoggerMessage(1204, LogLevel.Information, "SPICE {Channel} link refused by the server: {Error}")]
    public static partial void LinkRefused(ILogger logger, string channel, string error);
}
