using System.Net;
using System.Net.Sockets;
using Accel.Core.Relay;
using Microsoft.Extensions.Logging;
using Accel.Core.Edges;

namespace Accel.Edge.Listeners;

/// <summary>
/// A TCP accept loop for one way in. Each accepted connection is served on its own task; a failing connection is
/// logged and closed, and the loop goes on. Connections in service are bounded by <see cref="MaxConnections"/>.
/// </summary>
internal abstract partial class SpiceListener
{
    public const int MaxConnections = 1024;

    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    private readonly SemaphoreSlim _slots = new(MaxConnections, MaxConnections);

    protected SpiceListener(IPEndPoint listen, ClientEdge edge, string serverEdge, ILogger logger)
    {
        Listen = listen;
        Edge = edge;
        ServerEdge = serverEdge;
        Logger = logger;
    }

    public IPEndPoint Listen { get; }

    /// <summary>The bound address (with the real port when 0 was asked for), once started.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    protected ClientEdge Edge { get; }

    protected string ServerEdge { get; }

    protected ILogger Logger { get; }

    protected abstract string Mode { get; }

    /// <summary>Binds the socket; throws when the address is in use so the host fails at start with a clear reason.</summary>
    public Socket Bind()
    {
        var socket = new Socket(Listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR alone (restart while old connections are in TIME_WAIT). .NET's ReuseAddress would also set
            // SO_REUSEPORT on Linux, letting a second process bind the same port and take a share of the connections.
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            ConfigureListenSocket(socket);
            socket.Bind(Listen);
            socket.Listen(512);
            LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Accepts until <paramref name="cancellationToken"/> (the edge stops: connections in service end too) or
    /// <paramref name="acceptUntil"/> (a reload removed this listener: the socket closes, connections in service go on
    /// until they end), then waits for the connections in service.
    /// </summary>
    public async Task RunAsync(Socket listenSocket, CancellationToken cancellationToken, CancellationToken acceptUntil = default)
    {
        ListenerStarted(Logger, Mode, LocalEndPoint!.ToString(), ServerEdge);
        var active = new List<Task>();
        using var accepting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, acceptUntil);
        try
        {
            while (!accepting.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    await _slots.WaitAsync(accepting.Token).ConfigureAwait(false);
                    client = await listenSocket.AcceptAsync(accepting.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException && accepting.IsCancellationRequested)
                {
                    break; // the reload closed the socket under the accept
                }
                catch (SocketException ex)
                {
                    _slots.Release();
                    AcceptFailed(Logger, Mode, ex.SocketErrorCode.ToString());
                    continue;
                }

                client.NoDelay = true;
                active.RemoveAll(static t => t.IsCompleted);
                active.Add(ServeGuardedAsync(client, cancellationToken));
            }
        }
        finally
        {
            listenSocket.Dispose();
            active.RemoveAll(static t => t.IsCompleted);
            if (!cancellationToken.IsCancellationRequested)
            {
                ListenerClosed(Logger, Mode, LocalEndPoint.ToString(), active.Count);
            }

            await Task.WhenAll(active).ConfigureAwait(false);
        }
    }

    protected virtual void ConfigureListenSocket(Socket socket)
    {
    }

    /// <summary>Serves one accepted connection until it ends.</summary>
    protected abstract Task ServeAsync(Socket client, CancellationToken cancellationToken);

    private async Task ServeGuardedAsync(Socket client, CancellationToken cancellationToken)
    {
        try
        {
            await ServeAsync(client, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            ConnectionFailed(Logger, Mode, ex.Message);
        }
        catch (Exception ex)
        {
            // One connection's bug never takes the listener down.
            ConnectionCrashed(Logger, Mode, ex);
        }
        finally
        {
            client.Dispose();
            _slots.Release();
        }
    }

    [LoggerMessage(3001, LogLevel.Information, "{Mode} listener on tcp {Listen} → server edge {ServerEdge}")]
    private static partial void ListenerStarted(ILogger logger, string mode, string listen, string serverEdge);

    [LoggerMessage(3005, LogLevel.Information, "{Mode} listener on tcp {Listen} closed (reload); its {Connections} connections in service go on")]
    private static partial void ListenerClosed(ILogger logger, string mode, string listen, int connections);

    [LoggerMessage(3002, LogLevel.Warning, "{Mode} listener: accept failed: {Reason}")]
    private static partial void AcceptFailed(ILogger logger, string mode, string reason);

    [LoggerMessage(3003, LogLevel.Debug, "{Mode} connection ended with an error: {Reason}")]
    private static partial void ConnectionFailed(ILogger logger, string mode, string reason);

    [LoggerMessage(3004, LogLevel.Error, "{Mode} connection crashed")]
    private static partial void ConnectionCrashed(ILogger logger, string mode, Exception exception);
}
