using Accel.Core.Relay;
using System.Net;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Edges;

internal static partial class EdgeLog
{
    [LoggerMessage(1001, LogLevel.Information, "Edge connection from {Remote} authenticated (peer pin {Pin})")]
    public static partial void EdgeConnected(ILogger logger, EndPoint remote, string pin);

    [LoggerMessage(1002, LogLevel.Information, "Edge connection from {Remote} closed: {Reason}")]
    public static partial void EdgeDisconnected(ILogger logger, EndPoint remote, string reason);

    [LoggerMessage(1003, LogLevel.Warning, "Refused channel to {Host}:{Port}: {Status} ({Reason})")]
    public static partial void ChannelRefused(ILogger logger, string host, int port, EdgeStatus status, string reason);

    [LoggerMessage(1004, LogLevel.Debug, "Channel {Channel} to {Host}:{Port} opened")]
    public static partial void ChannelOpened(ILogger logger, string channel, string host, int port);

    [LoggerMessage(1005, LogLevel.Debug, "Channel {Channel} to {Host}:{Port} ended: {Outcome}")]
    public static partial void ChannelEnded(ILogger logger, string channel, string host, int port, RelayOutcome outcome);

    [LoggerMessage(1006, LogLevel.Warning, "Channel {Channel} to {Host}:{Port} failed: {Outcome}")]
    public static partial void ChannelFailed(ILogger logger, string channel, string host, int port, RelayOutcome outcome);

    [LoggerMessage(1007, LogLevel.Warning, "Bad edge request on stream {StreamId}: {Reason}")]
    public static partial void BadRequest(ILogger logger, long streamId, string reason);

    [LoggerMessage(1008, LogLevel.Error, "Unexpected failure handling an edge stream")]
    public static partial void StreamCrashed(ILogger logger, Exception exception);

    [LoggerMessage(1009, LogLevel.Warning, "Accepting an edge connection failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, string reason);

    [LoggerMessage(1010, LogLevel.Information, "Connected to server edge {Name} at {Remote}")]
    public static partial void ServerEdgeConnected(ILogger logger, string name, EndPoint remote);

    [LoggerMessage(1011, LogLevel.Warning, "Connecting to server edge {Name} at {Remote} failed: {Reason}")]
    public static partial void ServerEdgeConnectFailed(ILogger logger, string name, string remote, string reason);

    [LoggerMessage(1013, LogLevel.Warning, "TLS to backend {Host}:{Port} failed: {Reason}")]
    public static partial void BackendTlsFailed(ILogger logger, string host, int port, string reason);

    [LoggerMessage(1012, LogLevel.Information, "Server edge {Name} connection lost: {Reason}")]
    public static partial void ServerEdgeLost(ILogger logger, string name, string reason);
}
