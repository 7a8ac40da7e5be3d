using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Accel.Core.Tests.TestSupport;

/// <summary>
/// A UDP relay on loopback between a client edge and a server edge, as a branch router with NAT: each client-side source
/// gets its own socket toward the server edge. While <see cref="Blocked"/>, every packet is dropped both ways (a total
/// outage: the edges see silence, not an error).
/// </summary>
internal sealed class UdpOutageRelay : IAsyncDisposable
{
    private readonly Socket _front = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly IPEndPoint _server;
    private readonly ConcurrentDictionary<IPEndPoint, Socket> _flows = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private volatile bool _blocked;

    public UdpOutageRelay(IPEndPoint server)
    {
        _server = server;
        _front.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        EndPoint = (IPEndPoint)_front.LocalEndPoint!;
        _loops.Add(ForwardAsync());
    }

    /// <summary>Where the client edge connects (instead of the server edge).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>True: the link is down, every packet dropped.</summary>
    public bool Blocked
    {
        get => _blocked;
        set => _blocked = value;
    }

    /// <summary>Packets dropped while blocked (proof the outage happened).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private long _dropped;

    private async Task ForwardAsync()
    {
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                var received = await _front.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                var from = (IPEndPoint)received.RemoteEndPoint;
                if (_blocked)
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }

                if (!_flows.TryGetValue(from, out var flow))
                {
                    flow = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    flow.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                    _flows[from] = flow;
                    lock (_loops)
                    {
                        _loops.Add(BackwardAsync(flow, from));
                    }
                }

                await flow.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), SocketFlags.None, _server, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    private async Task BackwardAsync(Socket flow, IPEndPoint client)
    {
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                var n = await flow.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (_blocked)
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }

                await _front.SendToAsync(buffer.AsMemory(0, n), SocketFlags.None, client, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _front.Dispose();
        foreach (var flow in _flows.Values)
        {
            flow.Dispose();
        }

        Task[] loops;
        lock (_loops)
        {
            loops = [.. _loops];
        }

        await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
