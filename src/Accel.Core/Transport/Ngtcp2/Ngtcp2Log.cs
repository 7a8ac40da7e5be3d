using System.Net;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Transport.Ngtcp2;

internal static partial class Ngtcp2Log
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Debug, Message = "ngtcp2 listener on {EndPoint}")]
    public static partial void Listening(ILogger logger, EndPoint endPoint);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Debug, Message = "ngtcp2 connection to {RemoteEndPoint} established (server: {IsServer}, ALPN {Alpn})")]
    public static partial void HandshakeCompleted(ILogger logger, EndPoint remoteEndPoint, bool isServer, string alpn);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "ngtcp2 peer {RemoteEndPoint} refused: {Reason}")]
    public static partial void PeerRejected(ILogger logger, EndPoint remoteEndPoint, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Debug, Message = "ngtcp2 connection to {RemoteEndPoint} closed: {Error} ({Message})")]
    public static partial void ConnectionClosed(ILogger logger, EndPoint remoteEndPoint, TransportError error, string message);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Error, Message = "ngtcp2 callback {Callback} failed")]
    public static partial void CallbackFailed(ILogger logger, Exception exception, string callback);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Debug, Message = "ngtcp2 listener dropped a handshake from {RemoteEndPoint}: accept backlog full")]
    public static partial void BacklogFull(ILogger logger, EndPoint remoteEndPoint);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "ngtcp2 UDP receive on {EndPoint} failed")]
    public static partial void ReceiveFailed(ILogger logger, Exception exception, EndPoint endPoint);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Debug, Message = "ngtcp2 could not create a server connection: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Warning, Message = "ngtcp2 listener on {EndPoint} dropped {Count} new handshakes since its last report: {HalfOpen} half-open connections reach the cap of {Cap} (Transport:MaxHalfOpenConnections)")]
    public static partial void HandshakesDropped(ILogger logger, EndPoint endPoint, long count, int halfOpen, int cap);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Information, Message = "ngtcp2 listener on {EndPoint} under handshake load sent {Count} Retry packets since its last report ({HalfOpen} half-open, {Rate} new Initials this second)")]
    public static partial void RetryUnderLoad(ILogger logger, EndPoint endPoint, long count, int halfOpen, int rate);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information, Message = "Edge connection from {Old} moved to {New} (path validated; NAT rebinding or a new route)")]
    public static partial void PeerMoved(ILogger logger, EndPoint old, EndPoint @new);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "Edge connection to {Remote} migrated from {Old} to {New} (the route's source address changed; validating the new path)")]
    public static partial void Migrated(ILogger logger, EndPoint remote, EndPoint old, EndPoint @new);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Debug, Message = "Edge connection path from {Local} validated")]
    public static partial void MigrationValidated(ILogger logger, EndPoint local);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Warning, Message = "Edge connection to {Remote}: the path from {Local} failed validation; the connection ends and its sessions resume on a new one")]
    public static partial void MigrationFailed(ILogger logger, EndPoint remote, EndPoint local);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Warning, Message = "Edge connection to {Remote} could not migrate from {Old} to {New}: {Reason} (tried again while the route says so)")]
    public static partial void MigrationRefused(ILogger logger, EndPoint remote, EndPoint old, IPAddress @new, string reason);
}
