using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Policies;
using NetemLink;

namespace NetemBench.Probe;

/// <summary>
/// One SPICE channel connection of the probe client: TCP socket (created in the branch namespace), link phase with
/// SPICE ticket authentication, then a read loop that answers the flow control every real client must answer
/// (SET_ACK → ACK_SYNC, an ACK every window, PING → PONG) and hands every message to the channel's handler with its
/// arrival time. Writes from the read loop and from measurement code are serialised by one lock.
/// </summary>
internal sealed class ProbeChannel : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ServerLegAckResponder _acks = new();
    private SpiceMessageReader _reader = null!;
    private SpiceMessageWriter _writer = null!;

    private ProbeChannel(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        Output = PipeWriter.Create(_stream);
    }

    /// <summary>Handles one message; <paramref name="arrival"/> is a <see cref="Stopwatch"/> timestamp taken when its last byte was read.</summary>
    public delegate void MessageHandler(in SpiceMessage message, long arrival);

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public LinkSession Session { get; private set; } = null!;

    public long BytesRead { get; private set; }

    public long MessagesRead => _reader.MessagesRead;

    public static async Task<ProbeChannel> LinkAsync(string? ns, IPEndPoint endPoint, SpiceLinkMess message, TimeSpan timeout, CancellationToken ct)
    {
        var socket = ns is null
            ? new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : Netns.CreateSocket(ns, endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.NoDelay = true;
        ProbeChannel? channel = null;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            await socket.ConnectAsync(endPoint, cts.Token);
            channel = new ProbeChannel(socket);
            var link = await SpiceLinkClient.LinkAsync(channel.Input, channel.Output, message, string.Empty, cts.Token);
            if (!link.Succeeded)
            {
                throw new IOException($"link of the {message.ChannelType} channel refused: {link.Error} {link.FailureReason}");
            }

            channel.Session = link.Session!;
            channel._reader = SpiceMessageReader.ForSession(link.Session!);
            channel._writer = SpiceMessageWriter.ForSession(link.Session!);
            return channel;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            await DisposeQuietly(channel, socket);
            throw new TimeoutException($"link of the {message.ChannelType} channel to {endPoint} did not complete within {timeout.TotalSeconds:0} s");
        }
        catch
        {
            await DisposeQuietly(channel, socket);
            throw;
        }
    }

    private static async Task DisposeQuietly(ProbeChannel? channel, Socket socket)
    {
        if (channel is not null)
        {
            await channel.DisposeAsync();
        }
        else
        {
            socket.Dispose();
        }
    }

    /// <summary>Writes one message (under the write lock) and flushes.</summary>
    public async ValueTask SendAsync<T>(T message, CancellationToken ct)
        where T : struct, ISpiceMessageBody
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            _writer.Write(Output, message);
            await Output.FlushAsync(ct);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes two messages in one flush (a key press and its release).</summary>
    public async ValueTask SendAsync<T1, T2>(T1 first, T2 second, CancellationToken ct)
        where T1 : struct, ISpiceMessageBody
        where T2 : struct, ISpiceMessageBody
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            _writer.Write(Output, first);
            _writer.Write(Output, second);
            await Output.FlushAsync(ct);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Reads until <paramref name="until"/> returns true for a message (which is still handled), or the channel ends.</summary>
    public async Task ReadUntilAsync(Func<ushort, ReadOnlySequence<byte>, bool> until, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var found = false;
        try
        {
            await RunAsync((in SpiceMessage m, long _) => found |= until(m.Type, m.Body), () => found, cts.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"{Session.ChannelType} channel: the awaited message did not arrive within {timeout.TotalSeconds:0} s");
        }

        if (!found)
        {
            throw new EndOfStreamException($"{Session.ChannelType} channel closed by the server");
        }
    }

    /// <summary>The read loop: runs until the server closes the channel, <paramref name="stop"/> returns true, or cancellation.</summary>
    public async Task RunAsync(MessageHandler handler, Func<bool>? stop, CancellationToken ct)
    {
        while (true)
        {
            var result = await Input.ReadAsync(ct);
            var arrival = Stopwatch.GetTimestamp();
            var buffer = result.Buffer;
            var before = buffer.Length;
            var replied = false;
            var stopNow = false;
            while (!stopNow && _reader.TryRead(ref buffer, out var message))
            {
                replied |= Answer(message);
                handler(message, arrival);
                stopNow = stop?.Invoke() == true;
            }

            BytesRead += before - buffer.Length;
            Input.AdvanceTo(buffer.Start, buffer.End);
            if (replied)
            {
                await _writeLock.WaitAsync(ct);
                try
                {
                    await Output.FlushAsync(ct);
                }
                finally
                {
                    _writeLock.Release();
                }
            }

            if (stopNow || result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>Flow control and liveness every channel answers; true when something was written (flush needed).</summary>
    private bool Answer(in SpiceMessage message)
    {
        var replies = _acks.OnServerMessage(message.Type, message.Body);
        var ping = message.Type == (ushort)SpiceMsg.Ping;
        if (replies == AckReplies.None && !ping)
        {
            return false;
        }

        // Synchronous part only: the lock is free unless a sender is mid-write, which is short.
        _writeLock.Wait();
        try
        {
            _acks.WriteReplies(replies, _writer, Output);
            if (ping)
            {
                var p = SpicePing.Parse(message.Body);
                _writer.Write(Output, new SpicePong(p.Id, p.Timestamp));
            }
        }
        finally
        {
            _writeLock.Release();
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        // A sender may still be inside SendAsync (a key typed as the run ends): wait for it briefly, so the writer is not
        // completed under it, and never dispose the lock it will release (ObjectDisposedException in the fence test).
        bool locked = await _writeLock.WaitAsync(TimeSpan.FromSeconds(2));
        try
        {
            await Input.CompleteAsync();
            await Output.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The socket is shut down already: nothing left to flush.
        }
        finally
        {
            if (locked)
            {
                _writeLock.Release();
            }
        }

        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
