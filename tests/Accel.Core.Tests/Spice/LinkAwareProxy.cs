using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice;

/// <summary>
/// A test-only TCP proxy built from the protocol layer: it follows each connection's link phase with
/// <see cref="SpiceLinkPassThrough"/> (stripping GL_SCANOUT on display links), then frames every message in both
/// directions with <see cref="SpiceMessageReader"/> and forwards whole messages. It records what it saw.
/// </summary>
internal sealed class LinkAwareProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _acceptLoop;

    public LinkAwareProxy(IPEndPoint server)
    {
        _server = server;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public ConcurrentBag<ChannelRecord> Channels { get; } = [];

    /// <summary>
    /// Sees every framed message after the link phase (fromServer true for server → client), before it is forwarded;
    /// the body is valid only during the call. Called from each connection's pump (one thread per direction).
    /// </summary>
    public Action<ChannelRecord, bool, SpiceMessage>? Tap { get; set; }

    /// <summary>
    /// Sees every server → client message after <see cref="Tap"/>; framed messages it returns are sent to the client
    /// right after that message (tests inject draws spice-server never sends, to compare spice-gtk's rendering).
    /// </summary>
    public Func<ChannelRecord, SpiceMessage, byte[]?>? Inject { get; set; }

    public ConcurrentBag<Exception> Errors { get; } = [];

    /// <summary>Links the server refused: channel and error.</summary>
    public ConcurrentBag<string> Refusals { get; } = [];

    internal sealed class ChannelRecord
    {
        public required SpiceLinkPassThrough Link { get; init; }

        public SpiceLinkMess? ClientOffered { get; set; }

        public long ServerToClientMessages;
        public long ClientToServerMessages;
        public readonly ConcurrentDictionary<ushort, int> ServerTypes = new();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _connections.Add(HandleAsync(client));
        }
    }

    private async Task HandleAsync(Socket clientSocket)
    {
        using var serverSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await using var clientStream = new NetworkStream(clientSocket, ownsSocket: true);
        var record = new ChannelRecord { Link = new SpiceLinkPassThrough() };
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var token = connection.Token;
        try
        {
            await serverSocket.ConnectAsync(_server, token);
            await using var serverStream = new NetworkStream(serverSocket, ownsSocket: false);
            var fromClient = PipeReader.Create(clientStream);
            var toClient = PipeWriter.Create(clientStream);
            var fromServer = PipeReader.Create(serverStream);
            var toServer = PipeWriter.Create(serverStream);
            var link = record.Link;

            await ForwardItemAsync(fromClient, toServer, link.TryReadFromClient, token, item =>
            {
                record.ClientOffered = link.ClientMessage;
                var stripped = LinkCapsRewriter.StripGlScanout(link.ClientMessage!);
                link.ForwardClientMessage(stripped);
                stripped.WriteTo(toServer);
            });
            await ForwardItemAsync(fromServer, toClient, link.TryReadFromServer, token, null);
            if (link.Stage == SpiceLinkStage.Refused)
            {
                Refusals.Add($"{link.ClientMessage!.ChannelType}:{link.ClientMessage.ChannelId} reply {link.Result}");
                return;
            }

            if (link.Stage == SpiceLinkStage.AwaitingAuthMechanism)
            {
                await ForwardItemAsync(fromClient, toServer, link.TryReadFromClient, token, null);
            }

            await ForwardItemAsync(fromClient, toServer, link.TryReadFromClient, token, null);
            await ForwardItemAsync(fromServer, toClient, link.TryReadFromServer, token, null);
            if (link.Stage != SpiceLinkStage.Linked)
            {
                Refusals.Add($"{link.ClientMessage!.ChannelType}:{link.ClientMessage.ChannelId} result {link.Result}");
                return;
            }

            Channels.Add(record);
            var limits = SpiceFramingLimits.Default.For(link.ServerLegSession!.ChannelType);
            var down = PumpAsync(fromServer, toClient, new SpiceMessageReader(link.ServerLegSession.UseMiniHeader, limits), token, m =>
            {
                Interlocked.Increment(ref record.ServerToClientMessages);
                record.ServerTypes.AddOrUpdate(m.Type, 1, (_, n) => n + 1);
                Tap?.Invoke(record, true, m);
                return Inject?.Invoke(record, m);
            });
            var up = PumpAsync(fromClient, toServer, new SpiceMessageReader(link.ClientLegSession!.UseMiniHeader, limits), token, m =>
            {
                Interlocked.Increment(ref record.ClientToServerMessages);
                Tap?.Invoke(record, false, m);
                return null;
            });
            await Task.WhenAny(down, up);
            await connection.CancelAsync();
            await Task.WhenAll(down, up);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or EndOfStreamException)
        {
            // A side closed or the proxy stops: normal.
        }
        catch (Exception ex)
        {
            Errors.Add(ex);
        }
    }

    private static async Task ForwardItemAsync(PipeReader input, PipeWriter output, TryParseFunc<SpiceLinkItem> parse, CancellationToken token, Action<SpiceLinkItem>? rewrite)
    {
        SpiceLinkItem item;
        while (true)
        {
            var result = await input.ReadAsync(token);
            var buffer = result.Buffer;
            bool parsed;
            try
            {
                parsed = parse(ref buffer, out item);
            }
            catch (SpiceProtocolException ex)
            {
                var raw = buffer.Slice(0, Math.Min(buffer.Length, 64)).ToArray();
                throw new SpiceProtocolException(ex.Error, $"{ex.Message} Raw: {Convert.ToHexString(raw)} '{System.Text.Encoding.ASCII.GetString(raw)}'");
            }

            if (parsed)
            {
                if (rewrite is null)
                {
                    foreach (var segment in item.Raw)
                    {
                        output.Write(segment.Span);
                    }
                }
                else
                {
                    rewrite(item);
                }

                input.AdvanceTo(buffer.Start);
                await output.FlushAsync(token);
                return;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException();
            }
        }
    }

    private async Task PumpAsync(PipeReader input, PipeWriter output, SpiceMessageReader reader, CancellationToken token, Func<SpiceMessage, byte[]?> onMessage)
    {
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(token);
                var buffer = result.Buffer;
                var start = buffer.Start;
                try
                {
                    while (reader.TryRead(ref buffer, out var message))
                    {
                        if (onMessage(message) is { Length: > 0 } extra)
                        {
                            foreach (var segment in result.Buffer.Slice(start, buffer.Start))
                            {
                                output.Write(segment.Span);
                            }

                            output.Write(extra);
                            start = buffer.Start;
                        }
                    }
                }
                catch (SpiceProtocolException ex)
                {
                    var raw = buffer.Slice(0, Math.Min(buffer.Length, 64)).ToArray();
                    throw new SpiceProtocolException(ex.Error, $"{ex.Message} after {reader.MessagesRead} messages; raw {Convert.ToHexString(raw)} '{System.Text.Encoding.ASCII.GetString(raw)}'");
                }

                foreach (var segment in result.Buffer.Slice(start, buffer.Start))
                {
                    output.Write(segment.Span);
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                await output.FlushAsync(token);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (SpiceProtocolException ex)
        {
            Errors.Add(ex);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
