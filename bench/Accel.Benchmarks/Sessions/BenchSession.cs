using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Messages;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Benchmarks.Sessions;

/// <summary>
/// One SPICE session through the edges, both ends played here. The server end (a port of its own, as each VM has)
/// behaves as spice-server does toward a display client: SET_ACK, a primary surface, then a draw (a 32-bit bitmap at a
/// moving spot) every tick into its pipe, sent while no more than two ACK windows are unacknowledged, the oldest draw
/// dropped when the pipe is long (spice-server replaces superseded drawables); a key from the inputs channel queues its
/// echo (a NOTIFY carrying the key) at the end of that pipe. The client end reads the display channel, acknowledges
/// per its window and times each key from KEY_DOWN to its echo. A stalled session's client links its display channel
/// and then never reads again.
/// </summary>
internal sealed class BenchSession : IAsyncDisposable
{
    private const int MaxPipe = 64;

    private readonly Socket _listener;
    private readonly SessionOptions _options;
    private readonly KeyRecorder _keys;
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<byte[]> _pipe = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly List<Task> _tasks = [];
    private readonly List<Socket> _sockets = [];
    private long _sent;
    private long _acknowledged;
    private int _draws;

    public BenchSession(int id, SessionOptions options, KeyRecorder keys, bool stalled)
    {
        Id = id;
        Stalled = stalled;
        _options = options;
        _keys = keys;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(8);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
    }

    public int Id { get; }

    public int Port { get; }

    public bool Stalled { get; }

    /// <summary>When the edge closed this session's display channel toward the server end (null: still open).</summary>
    public TimeSpan? ServerSideClosedAt { get; private set; }

    /// <summary>Set: the client types no more keys (the session is about to end; its last keys' echoes may come).</summary>
    public bool Quiet { get; set; }

    /// <summary>Display messages the server end has sent.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public Task StartAsync(int proxyPort, Stopwatch clock)
    {
        _tasks.Add(AcceptAsync(clock));
        return ConnectClientAsync(proxyPort);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        lock (_sockets)
        {
            foreach (var s in _sockets)
            {
                s.Dispose();
            }
        }

        await Task.WhenAll(_tasks).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(static _ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private Socket Track(Socket s)
    {
        lock (_sockets)
        {
            _sockets.Add(s);
        }

        return s;
    }

    private async Task ConnectClientAsync(int proxyPort)
    {
        var token = _stop.Token;
        var display = Track(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
        if (Stalled)
        {
            // A reader that stops at once: the smallest receive buffer the kernel allows, so the edge's writes stall
            // on it after a few KB rather than after the default's megabytes.
            display.ReceiveBufferSize = 4096;
        }

        await display.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxyPort), token);
        await SpiceWire.ConnectThroughProxyAsync(display, Port, token);
        await SpiceWire.LinkAsClientAsync(display, (uint)Id, SpiceChannelType.Display, token);
        if (Stalled)
        {
            return;
        }

        var inputs = Track(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
        await inputs.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxyPort), token);
        await SpiceWire.ConnectThroughProxyAsync(inputs, Port, token);
        await SpiceWire.LinkAsClientAsync(inputs, (uint)Id, SpiceChannelType.Inputs, token);
        _tasks.Add(ClientDisplayAsync(display, token));
        _tasks.Add(TypeAsync(inputs, token));
    }

    /// <summary>The client's display channel: acknowledges per the window the client edge set, times echoes.</summary>
    private async Task ClientDisplayAsync(Socket socket, CancellationToken token)
    {
        uint window = 0;
        long counted = 0;
        var pending = new List<byte[]>();
        var framer = new SpiceWire.Framer((type, body) =>
        {
            if (type == (ushort)SpiceMsg.SetAck && body.Length >= 8)
            {
                window = BinaryPrimitives.ReadUInt32LittleEndian(body[4..]);
                counted = 0;
                pending.Add(SpiceWire.U32Message((ushort)SpiceMsgc.AckSync, BinaryPrimitives.ReadUInt32LittleEndian(body)));
                return;
            }

            if (type == (ushort)SpiceMsg.Notify && body.Length >= 20)
            {
                _keys.Echoed(Id, BinaryPrimitives.ReadUInt32LittleEndian(body[16..]));
            }

            if (window > 0 && ++counted % window == 0)
            {
                pending.Add(SpiceWire.Message((ushort)SpiceMsgc.Ack, default));
            }
        });
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, token);
                if (n == 0)
                {
                    return;
                }

                framer.Feed(buffer.AsSpan(0, n));
                foreach (var m in pending)
                {
                    await socket.SendAsync(m, token);
                }

                pending.Clear();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>A key every interval (± 20 %), each with its own number.</summary>
    private async Task TypeAsync(Socket socket, CancellationToken token)
    {
        var rng = new Random(Id);
        try
        {
            while (!token.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(_options.KeyIntervalMs * (0.8 + (0.4 * rng.NextDouble()))), token);
                if (Quiet)
                {
                    return;
                }

                var key = _keys.Typed(Id);
                await socket.SendAsync(SpiceWire.U32Message(SpiceWire.KeyDown, key), token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptAsync(Stopwatch clock)
    {
        var token = _stop.Token;
        try
        {
            while (true)
            {
                var socket = Track(await _listener.AcceptAsync(token));
                socket.NoDelay = true;
                var type = await SpiceWire.LinkAsServerAsync(socket, token);
                _tasks.Add(type == SpiceChannelType.Display ? ServerDisplayAsync(socket, clock, token) : ServerInputsAsync(socket, token));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
        }
    }

    private void Enqueue(byte[] message, bool isDraw)
    {
        lock (_pipe)
        {
            if (isDraw && _pipe.Count >= MaxPipe)
            {
                _pipe.Dequeue(); // replaced by the newer one, as spice-server replaces a superseded drawable
            }

            _pipe.Enqueue(message);
        }

        _wake.Release();
    }

    private async Task ServerDisplayAsync(Socket socket, Stopwatch clock, CancellationToken token)
    {
        const uint Window = 20;
        await socket.SendAsync(SpiceWire.SetAck(1, Window), token);
        await socket.SendAsync(SpiceWire.Message(314, B.SurfaceCreate(0, _options.Width, _options.Height)), token);
        var acks = Task.Run(() => ReadAcksAsync(socket, clock, token), token);
        var ticker = Task.Run(() => DrawAsync(token), token);
        try
        {
            while (!token.IsCancellationRequested)
            {
                await _wake.WaitAsync(token);
                while (Interlocked.Read(ref _sent) - (Interlocked.Read(ref _acknowledged) * Window) < 2 * Window)
                {
                    byte[] next;
                    lock (_pipe)
                    {
                        if (!_pipe.TryDequeue(out next!))
                        {
                            break;
                        }
                    }

                    await socket.SendAsync(next, token);
                    Interlocked.Increment(ref _sent);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(acks, ticker).ContinueWith(static _ => { }, TaskScheduler.Default);
    }

    private async Task ReadAcksAsync(Socket socket, Stopwatch clock, CancellationToken token)
    {
        var framer = new SpiceWire.Framer((type, _) =>
        {
            if (type == (ushort)SpiceMsgc.Ack)
            {
                Interlocked.Increment(ref _acknowledged);
                _wake.Release();
            }
        });
        await framer.FeedUntilClosedAsync(socket, token);

        if (!token.IsCancellationRequested)
        {
            ServerSideClosedAt = clock.Elapsed;
        }
    }

    private async Task DrawAsync(CancellationToken token)
    {
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / _options.DrawsPerSecond));
        try
        {
            while (await tick.WaitForNextTickAsync(token))
            {
                Enqueue(NextDraw(), isDraw: true);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A DRAW_COPY of a DrawSize² bitmap stepping across the screen, its pixels a pattern that moves per draw.</summary>
    private byte[] NextDraw()
    {
        var n = _draws++;
        var size = _options.DrawSize;
        var columns = _options.Width / size;
        var x = n % columns * size;
        var y = n / columns % (_options.Height / size) * size;
        var image = B.Bitmap32((ulong)(n + 1), size, size, (px, py) => (uint)(((px + n) * 0x010305) ^ ((py * 0x070B0D) + (Id << 16))));
        var body = new B().Base(0, x, y, x + size, y + size).Pointer(image).Rect(0, 0, size, size).U16(8).U8(1).NoMask().Build();
        return SpiceWire.Message(304, body);
    }

    private async Task ServerInputsAsync(Socket socket, CancellationToken token)
    {
        var framer = new SpiceWire.Framer((type, body) =>
        {
            if (type == SpiceWire.KeyDown && body.Length >= 4)
            {
                Enqueue(SpiceWire.Echo(BinaryPrimitives.ReadUInt32LittleEndian(body)), isDraw: false);
            }
        });
        await framer.FeedUntilClosedAsync(socket, token);
    }
}

/// <summary>What a session's two ends do.</summary>
internal sealed record SessionOptions(int Width, int Height, int DrawSize, double DrawsPerSecond, double KeyIntervalMs);
