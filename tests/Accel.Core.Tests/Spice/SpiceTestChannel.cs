using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;

namespace Accel.Core.Tests.Spice;

/// <summary>A test client for one SPICE channel over TCP, built only from the protocol layer under test.</summary>
internal sealed class SpiceTestChannel : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private SpiceTestChannel(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Input = PipeReader.Create(_stream);
        Output = PipeWriter.Create(_stream);
    }

    public delegate bool MessageHandler(in SpiceMessage message);

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public SpiceLinkResult? Link { get; private set; }

    public SpiceMessageReader Reader { get; private set; } = null!;

    public SpiceMessageWriter Writer { get; private set; } = null!;

    public static async Task<SpiceTestChannel> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new SpiceTestChannel(socket);
    }

    public static async Task<SpiceTestChannel> LinkAsync(IPEndPoint endPoint, SpiceLinkMess message, CancellationToken cancellationToken)
    {
        var channel = await ConnectAsync(endPoint, cancellationToken);
        try
        {
            var link = await SpiceLinkClient.LinkAsync(channel.Input, channel.Output, message, string.Empty, cancellationToken)
                .AsTask().WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
            Assert.True(link.Succeeded, $"link of {message.ChannelType} failed: {link.Error} {link.FailureReason}");
            channel.Link = link;
            channel.Reader = SpiceMessageReader.ForSession(link.Session!);
            channel.Writer = SpiceMessageWriter.ForSession(link.Session!);
            return channel;
        }
        catch
        {
            await channel.DisposeAsync();
            throw;
        }
    }

    /// <summary>Frames incoming messages and hands each to <paramref name="handler"/> until it returns true; flushes what it wrote.</summary>
    public async Task ReadUntilAsync(MessageHandler handler, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await Input.ReadAsync(cts.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The awaited message did not arrive within {timeout} ({Reader.MessagesRead} messages read).");
            }

            var buffer = result.Buffer;
            var done = false;
            while (!done && Reader.TryRead(ref buffer, out var message))
            {
                done = handler(message);
            }

            Input.AdvanceTo(buffer.Start, buffer.End);
            await Output.FlushAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
            if (done)
            {
                return;
            }

            if (result.IsCompleted)
            {
                throw new EndOfStreamException($"The server closed the channel after {Reader.MessagesRead} messages.");
            }
        }
    }

    /// <summary>Half-closes the connection (TCP FIN) without disposing anything.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    public async Task FlushAsync(CancellationToken cancellationToken) =>
        await Output.FlushAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync();
        await Output.CompleteAsync();
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
