using System.Net;
using System.Net.Sockets;
using Accel.Core.Diagnostics;
using Microsoft.Extensions.Logging;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// A client connection that moves on its own when its route changes (Wi-Fi → LTE, a new default route, its source
/// address removed). Its socket is connected, so the kernel fixed the source address at connect time and keeps using it
/// even when that address is gone (sends then fail, nothing arrives). Every <see cref="CheckInterval"/> (a deadline of the connection's turns) the loop asks
/// the kernel which source address it would pick now: connect(2) on a fresh UDP socket is a route lookup and sends
/// nothing. When the answer differs, a socket bound to the new address takes over and ngtcp2 migrates at once
/// (<c>ngtcp2_conn_initiate_immediate_migration</c>: a fresh connection ID, path validation on the new path meanwhile;
/// the server edge validates and follows). A failed validation ends the connection, so the edge resumes its sessions on
/// a new one instead of waiting for the link watch or the idle timeout. Loop thread only.
/// </summary>
internal sealed class Ngtcp2Migration
{
    /// <summary>How often the route is checked: well inside the link watch's 1 s + 2 RTT, so a move wins over a resume.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(250);

    private readonly Ngtcp2Connection _owner;
    private readonly IPEndPoint _remote;
    private readonly ILogger _logger;
    private ulong _nextCheck;
    private IPAddress? _refused;
    private IPEndPoint? _validating;

    private Ngtcp2Migration(Ngtcp2Connection owner, IPEndPoint remote, ILogger logger)
    {
        _owner = owner;
        _remote = remote;
        _logger = logger;
    }

    /// <summary>When the next route check is due (<see cref="Ngtcp2Clock"/> nanoseconds): a deadline of the connection's turns.</summary>
    public ulong NextCheck => _nextCheck;

    /// <summary>Set when the path the connection moved to failed validation: the loop ends the connection.</summary>
    public bool ValidationFailed { get; private set; }

    /// <summary>A migration for a client whose local address is the kernel's choice; a configured one stays put (null).</summary>
    public static Ngtcp2Migration? For(TransportClientOptions options, Ngtcp2Connection owner, IPEndPoint remote, ILogger logger)
    {
        var pinned = options.LocalEndPoint is { } local && (local.Port != 0 || !(local.Address.Equals(IPAddress.Any) || local.Address.Equals(IPAddress.IPv6Any)));
        return pinned ? null : new Ngtcp2Migration(owner, remote, logger);
    }

    /// <summary>The source address the kernel would use toward <paramref name="remote"/> now; null when it has no route.</summary>
    public static IPAddress? SourceToward(IPEndPoint remote)
    {
        using var probe = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            probe.Connect(remote);
            return ((IPEndPoint)probe.LocalEndPoint!).Address;
        }
        catch (SocketException)
        {
            // No route at all (ENETUNREACH): nowhere to move to. The link watch and the resume ride the outage out.
            return null;
        }
    }

    /// <summary>When a check is due: moves the connection if the source address changed. Returns the new socket, or null.</summary>
    public UdpEndpoint? Poll(UdpEndpoint current)
    {
        var now = Ngtcp2Clock.Now();
        if (now < _nextCheck)
        {
            return null;
        }

        _nextCheck = now + Ngtcp2Clock.ToNanoseconds(CheckInterval);
        var source = SourceToward(_remote);
        return source is null || source.Equals(current.LocalEndPoint.Address) ? null : MoveTo(source, current);
    }

    /// <summary>The path_validation callback: the outcome for the path this client moved to.</summary>
    public void OnValidation(bool success)
    {
        if (_validating is not { } path)
        {
            return;
        }

        _validating = null;
        AccelMetrics.EdgeMigrations.Add(1, AccelMetrics.Tags("result", success ? "validated" : "failed"));
        if (success)
        {
            Ngtcp2Log.MigrationValidated(_logger, path);
        }
        else
        {
            ValidationFailed = true;
            Ngtcp2Log.MigrationFailed(_logger, _owner.RemoteEndPoint, path);
        }
    }

    private UdpEndpoint? MoveTo(IPAddress source, UdpEndpoint current)
    {
        var socket = new Socket(_remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        UdpEndpoint next;
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            socket.Connect(_remote);
            next = new UdpEndpoint(socket, _logger);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            Refused(source, current, e.Message);
            return null;
        }

        var rv = _owner.Native.MigrateTo(next.LocalEndPoint, Ngtcp2Clock.Now());
        if (rv != 0)
        {
            // E.g. no spare connection ID from the server edge yet, or the handshake not confirmed: tried again next check.
            socket.Dispose();
            Refused(source, current, ErrorText(rv));
            return null;
        }

        _refused = null;
        _validating = next.LocalEndPoint;
        AccelMetrics.EdgeMigrations.Add(1, AccelMetrics.Tags("result", "started"));
        Ngtcp2Log.Migrated(_logger, _owner.RemoteEndPoint, current.LocalEndPoint, next.LocalEndPoint);
        next.Start(null, _owner);
        return next;
    }

    private void Refused(IPAddress source, UdpEndpoint current, string reason)
    {
        if (!source.Equals(_refused))
        {
            _refused = source;
            Ngtcp2Log.MigrationRefused(_logger, _owner.RemoteEndPoint, current.LocalEndPoint, source, reason);
        }
    }
}
