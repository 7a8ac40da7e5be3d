using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Accel.Core.Tests.TestSupport;

/// <summary>
/// A UDP relay on loopback between a client edge and a server edge, as a branch router with NAT: each client-side source
/// gets its own socket toward the server edge. While <see cref="Blocked"/>, every packet is dropped both ways (a total
/// outage: the edges see silence, not an error). With a one-way delay every packet is held that long in each direction
/// (a WAN's propagation delay, in order; a bounded queue that drops at its tail like a router's).
/// </summary>
internal sealed class UdpOutageRelay : IAsyncDisposable
{
    private readonly Socket _front = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly IPEndPoint _server;
    private readonly ConcurrentDictionary<IPEndPoint, Socket> _flows = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly TimeSpan _delay;
    private readonly Channel<Held>? _held;
    private volatile bool _blocked;

    public UdpOutageRelay(IPEndPoint server, TimeSpan oneWayDelay = default)
    {
        _server = server;
        _delay = oneWayDelay;
        _front.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        EndPoint = (IPEndPoint)_front.LocalEndPoint!;
        if (oneWayDelay > TimeSpan.Zero)
        {
            _held = Channel.CreateBounded<Held>(new BoundedChannelOptions(8192) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
                dropped => ArrayPool<byte>.Shared.Return(dropped.Packet));
            _loops.Add(ReleaseAsync());
        }

        _loops.Add(ForwardAsync());
    }

    /// <summary>A packet held for the one-way delay: where it goes, through which socket, and when.</summary>
    private readonly record struct Held(long Due, byte[] Packet, int Length, Socket Via, EndPoint To);

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

                await SendAsync(flow, buffer.AsMemory(0, received.ReceivedBytes), _server);
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

                await SendAsync(_front, buffer.AsMemory(0, n), client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    private async ValueTask SendAsync(Socket via, ReadOnlyMemory<byte> packet, EndPoint to)
    {
        if (_held is null)
        {
            await via.SendToAsync(packet, SocketFlags.None, to, _stop.Token);
            return;
        }

        var copy = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(copy);
        _held.Writer.TryWrite(new Held(Stopwatch.GetTimestamp() + (long)(_delay.TotalSeconds * Stopwatch.Frequency), copy, packet.Length, via, to));
    }

    /// <summary>Sends each held packet when its delay has passed (one queue for both directions: the delay is the same).</summary>
    private async Task ReleaseAsync()
    {
        try
        {
            await foreach (var held in _held!.Reader.ReadAllAsync(_stop.Token))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), held.Due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _stop.Token);
                }

                try
                {
                    if (!_blocked)
                    {
                        await held.Via.SendToAsync(held.Packet.AsMemory(0, held.Length), SocketFlags.None, held.To, _stop.Token);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(held.Packet);
                }
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
