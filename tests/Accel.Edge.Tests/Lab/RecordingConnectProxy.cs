using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Accel.Edge.Tests.Lab;

/// <summary>
/// A minimal HTTP CONNECT proxy standing in for Proxmox's spiceproxy: it records every CONNECT target exactly as it
/// arrives (a real proxy could not resolve <c>pvespiceproxy:…</c>), then connects to one fixed backend and relays.
/// </summary>
internal sealed class RecordingConnectProxy : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly IPEndPoint _backend;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public RecordingConnectProxy(IPEndPoint backend)
    {
        _backend = backend;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _loop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Every CONNECT target received, in order.</summary>
    public ConcurrentQueue<string> Targets { get; } = new();

    private async Task AcceptLoopAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptAsync(_stop.Token);
                sessions.Add(ServeAsync(client));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(sessions);
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        using var backend = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            var buffer = new byte[8192];
            var filled = 0;
            int end;
            while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                var n = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _stop.Token);
                if (n == 0 || (filled += n) == buffer.Length)
                {
                    return;
                }
            }

            var line = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, end).IndexOf("\r\n"u8) is var e and >= 0 ? e : end);
            var parts = line.Split(' ');
            Targets.Enqueue(parts.Length == 3 && parts[0] == "CONNECT" ? parts[1] : "<not CONNECT> " + line);
            await backend.ConnectAsync(_backend, _stop.Token);
            await client.SendAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), SocketFlags.None, _stop.Token);
            if (filled > end + 4)
            {
                await backend.SendAsync(buffer.AsMemory(end + 4, filled - end - 4), SocketFlags.None, _stop.Token);
            }

            await Task.WhenAny(CopyAsync(client, backend), CopyAsync(backend, client));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
        }
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[65536];
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _loop;
        _stop.Dispose();
    }
}
