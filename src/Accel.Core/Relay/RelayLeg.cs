using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using Accel.Core.Diagnostics;
using Accel.Core.Transport;

namespace Accel.Core.Relay;

/// <summary>
/// One side of a relayed channel: where its bytes come from (<see cref="Input"/>), its one writer
/// (<see cref="Output"/>), and how it ends cleanly or on failure.
/// </summary>
internal abstract class RelayLeg
{
    private readonly Stream _stream;

    protected RelayLeg(Stream stream, ReadOnlyMemory<byte> prefix, int bufferSize)
    {
        _stream = prefix.IsEmpty ? stream : new PrefixedStream(stream, prefix);
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: bufferSize, minimumReadSize: 4096, leaveOpen: true));
        Output = new LegWriter(PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true)));
    }

    public PipeReader Input { get; }

    public LegWriter Output { get; }

    /// <summary>Ends the write side after the other side finished cleanly.</summary>
    public async ValueTask CompleteWritesAsync()
    {
        Output.Complete();
        try
        {
            await CompleteCoreAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Tears this side down after the channel failed with <paramref name="outcome"/>.</summary>
    public abstract void Fail(RelayOutcome outcome);

    public virtual async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    protected abstract ValueTask CompleteCoreAsync();
}

/// <summary>
/// The local TCP connection (plain, or TLS toward a backend on its TLS port), with TCP keep-alive and a write
/// deadline (<see cref="SpiceRelaySettings.StallTimeout"/>): a reader that takes nothing for that long fails its
/// own channel, never the others.
/// </summary>
internal sealed class SocketLeg(Socket socket, SslStream? tls, ReadOnlyMemory<byte> prefix, SpiceRelaySettings settings)
    : RelayLeg(Open(socket, tls, settings), prefix, settings.BufferSize)
{
    /// <summary>Kernel send buffer of a local leg (Linux doubles it): ample for a LAN, small enough not to queue display data.</summary>
    internal const int SendBufferBytes = 128 * 1024;

    /// <summary>TCP_NOTSENT_LOWAT of a local leg: the socket reports itself writable only below this many unsent bytes.</summary>
    internal const int NotSentLowWaterBytes = 32 * 1024;

    private const int TcpNotSentLowAt = 25; // linux/tcp.h
    private const int TcpUserTimeout = 18; // linux/tcp.h

    /// <summary>Keep-alive probes after the idle time: one every this many seconds, closing after <see cref="KeepAliveProbes"/>.</summary>
    internal const int KeepAliveIntervalSeconds = 10;

    internal const int KeepAliveProbes = 3;

    /// <summary>
    /// A local leg (LAN: remote-viewer at the client edge, spice-server at the server edge) keeps little in the kernel:
    /// data that cannot leave waits in the edge, where the display budget sees it and nothing urgent queues behind it
    /// (issue: input echoes never wait behind display data anywhere the edges own). No Nagle delay.
    /// </summary>
    /// A peer that vanished (no FIN, no RST) is found by keep-alive; written data it never acknowledges fails the socket
    /// after the stall timeout (TCP_USER_TIMEOUT), as the write deadline does for data it never reads.
    internal static Socket Tune(Socket socket, SpiceRelaySettings settings)
    {
        try
        {
            socket.NoDelay = true;
            socket.SendBufferSize = SendBufferBytes;
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, Math.Max(1, (int)settings.TcpKeepAlive.TotalSeconds));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, KeepAliveIntervalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, KeepAliveProbes);
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpNotSentLowAt, BitConverter.GetBytes(NotSentLowWaterBytes));
                socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpUserTimeout, BitConverter.GetBytes((int)settings.StallTimeout.TotalMilliseconds));
            }
        }
        catch (SocketException)
        {
            // An option the kernel refuses changes nothing about correctness.
        }

        return socket;
    }

    private static DeadlineStream Open(Socket socket, SslStream? tls, SpiceRelaySettings settings)
    {
        Tune(socket, settings);
        return new DeadlineStream((Stream?)tls ?? new NetworkStream(socket, ownsSocket: false), settings.StallTimeout);
    }

    public override void Fail(RelayOutcome outcome)
    {
        if (outcome is RelayOutcome.ProtocolViolation or RelayOutcome.PeerAborted or RelayOutcome.Stalled or RelayOutcome.LinkTimedOut)
        {
            Reset(socket);
        }
    }

    protected override async ValueTask CompleteCoreAsync()
    {
        if (tls is not null)
        {
            await tls.ShutdownAsync().ConfigureAwait(false); // TLS close_notify before the FIN
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }
}

/// <summary>The edge-to-edge stream, past its request/response header.</summary>
internal sealed class StreamLeg : RelayLeg
{
    private readonly ITransportStream _stream;

    public StreamLeg(ITransportStream stream, ReadOnlyMemory<byte> prefix, int bufferSize)
        : base(new TransportStreamAdapter(stream), prefix, bufferSize)
    {
        _stream = stream;
        AccelMetrics.Track(stream);
    }

    public override async ValueTask DisposeAsync()
    {
        AccelMetrics.Untrack(_stream);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    public override void Fail(RelayOutcome outcome)
    {
        switch (outcome)
        {
            case RelayOutcome.ProtocolViolation:
                _stream.Abort(AbortDirection.Both, RelayErrorCodes.ProtocolViolation);
                break;
            case RelayOutcome.SocketFailed:
                _stream.Abort(AbortDirection.Both, RelayErrorCodes.SocketClosed);
                break;
            case RelayOutcome.Stalled or RelayOutcome.LinkTimedOut:
                _stream.Abort(AbortDirection.Both, RelayErrorCodes.TimedOut);
                break;
            default:
                break;
        }
    }

    protected override ValueTask CompleteCoreAsync()
    {
        _stream.CompleteWrites();
        return ValueTask.CompletedTask;
    }
}
