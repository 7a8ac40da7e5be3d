using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using Accel.Core.Diagnostics;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Transport;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Relay;

/// <summary>What a pump is told by its edge before it starts.</summary>
internal sealed record PumpSetup
{
    public required SpiceRelaySettings Settings { get; init; }

    /// <summary>The edge role's policies, chosen once the channel type is known.</summary>
    public required IChannelPolicyFactory Policies { get; init; }

    /// <summary>The client's SpiceLinkMess when the edge read and forwarded it already.</summary>
    public ClientLink? ClientLink { get; init; }

    /// <summary>Relay bytes only, without reading the link (TLS end to end, which the edges cannot read).</summary>
    public bool Opaque { get; init; }

    /// <summary>Called once the channel type is known (the edge sets the stream's priority).</summary>
    public Action<SpiceChannelType>? OnChannel { get; init; }
}

/// <summary>
/// Relays one SPICE channel between its client side and its server side (one a local socket, the other the
/// edge-to-edge stream): the link phase (<see cref="LinkPhase"/>), then one loop per direction
/// (<see cref="MessageLoop"/>) through the policies the edge's <see cref="IChannelPolicyFactory"/> chose for the
/// channel. Channels without the mini header (very old peers), SASL links and TLS end to end are relayed as bytes.
/// The pump knows no channel type and no edge role.
/// </summary>
internal sealed class ChannelPump(RelayLeg clientSide, RelayLeg serverSide, PumpSetup setup, ILogger logger)
{
    private IChannelPolicy[] _policies = [];
    private string _label = "unknown";

    /// <summary>The channel type, known once the client's SpiceLinkMess has been read.</summary>
    public SpiceChannelType ChannelType { get; private set; }

    /// <summary>The policies chosen at link time (empty before, and for channels relayed as bytes).</summary>
    public IReadOnlyList<IChannelPolicy> Policies => _policies;

    public async Task<RelayOutcome> RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var injections = Task.CompletedTask;
        try
        {
            var messages = !setup.Opaque && await LinkWithinDeadlineAsync(linked.Token).ConfigureAwait(false);
            Task<RelayOutcome> up;
            Task<RelayOutcome> down;
            if (messages)
            {
                _policies = setup.Policies.Create(new LinkedChannel(ChannelType, _channelId, setup.Settings.Limits.For(ChannelType)), clientSide.Output, serverSide.Output);
                injections = Task.WhenAll(clientSide.Output.RunInjectionsAsync(linked.Token), serverSide.Output.RunInjectionsAsync(linked.Token));
                up = RunDirectionAsync(Loop(clientSide, serverSide, SpiceDirection.ClientToServer).RunAsync, serverSide, linked);
                down = RunDirectionAsync(Loop(serverSide, clientSide, SpiceDirection.ServerToClient).RunAsync, clientSide, linked);
            }
            else
            {
                up = RunDirectionAsync(new ByteCopy(clientSide, serverSide, _label, "to_server").RunAsync, serverSide, linked);
                down = RunDirectionAsync(new ByteCopy(serverSide, clientSide, _label, "to_client").RunAsync, clientSide, linked);
            }

            var a = await up.ConfigureAwait(false);
            var b = await down.ConfigureAwait(false);
            return cancellationToken.IsCancellationRequested ? RelayOutcome.Canceled : a != RelayOutcome.Completed ? a : b;
        }
        catch (Exception ex) when (Classify(ex, cancellationToken) is { } outcome)
        {
            Fail(outcome, ex);
            return outcome;
        }
        finally
        {
            await linked.CancelAsync().ConfigureAwait(false);
            await injections.ConfigureAwait(false);
            await clientSide.DisposeAsync().ConfigureAwait(false);
            await serverSide.DisposeAsync().ConfigureAwait(false);
            foreach (var policy in _policies)
            {
                if (policy is ISummarizingPolicy { Summary: { } summary })
                {
                    PumpLog.PolicySummary(logger, _label, summary);
                }

                (policy as IDisposable)?.Dispose();
            }
        }
    }

    private byte _channelId;

    /// <summary>The link phase, which must end within <see cref="SpiceRelaySettings.LinkTimeout"/>: a silent tunnel or backend holds nothing for ever.</summary>
    private async Task<bool> LinkWithinDeadlineAsync(CancellationToken token)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        deadline.CancelAfter(setup.Settings.LinkTimeout);
        try
        {
            return await new LinkPhase(clientSide, serverSide, setup.ClientLink, logger).RunAsync(OnChannel, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new LinkTimeoutException(setup.Settings.LinkTimeout);
        }
    }

    private void OnChannel(SpiceLinkMess link)
    {
        var type = link.ChannelType;
        ChannelType = type;
        _channelId = link.ChannelId;
        _label = type.ToLabel();
        setup.OnChannel?.Invoke(type);
    }

    private MessageLoop Loop(RelayLeg from, RelayLeg to, SpiceDirection direction) =>
        new(from.Input, to.Output, direction, new SpiceMessageReader(miniHeader: true, setup.Settings.Limits.For(ChannelType)), _policies, setup.Settings.MaxInspectedMessage, _label);

    /// <summary>Runs one direction; a clean end finishes the destination's writes, a failure ends the whole channel.</summary>
    private async Task<RelayOutcome> RunDirectionAsync(Func<CancellationToken, Task> loop, RelayLeg destination, CancellationTokenSource linked)
    {
        try
        {
            await loop(linked.Token).ConfigureAwait(false);
            await destination.CompleteWritesAsync().ConfigureAwait(false);
            return RelayOutcome.Completed;
        }
        catch (Exception ex) when (Classify(ex, linked.Token) is { } outcome)
        {
            Fail(outcome, ex);
            await linked.CancelAsync().ConfigureAwait(false);
            return outcome;
        }
    }

    /// <summary>Maps a failure to an outcome; null for exceptions that are bugs (they propagate).</summary>
    private static RelayOutcome? Classify(Exception ex, CancellationToken token) => ex switch
    {
        LinkTimeoutException => RelayOutcome.LinkTimedOut,
        StalledReaderException => RelayOutcome.Stalled,
        OperationCanceledException => token.IsCancellationRequested ? RelayOutcome.Canceled : RelayOutcome.PeerAborted,
        SpiceProtocolException => RelayOutcome.ProtocolViolation,
        InvalidDataException => RelayOutcome.ProtocolViolation, // a corrupt compressed stream (WanCompressedStream)
        TransportException => RelayOutcome.PeerAborted,
        IOException { InnerException: TransportException } => RelayOutcome.PeerAborted,
        IOException or SocketException or ObjectDisposedException => RelayOutcome.SocketFailed,
        _ => null,
    };

    private void Fail(RelayOutcome outcome, Exception ex)
    {
        if (outcome == RelayOutcome.ProtocolViolation)
        {
            PumpLog.ProtocolViolation(logger, _label, setup.Policies.EdgeName, ex.Message);
            AccelMetrics.Errors.Add(1, AccelMetrics.Tags("kind", "protocol_violation"));
        }
        else if (outcome is RelayOutcome.Stalled or RelayOutcome.LinkTimedOut)
        {
            PumpLog.TimedOut(logger, _label, setup.Policies.EdgeName, ex.Message);
            AccelMetrics.Errors.Add(1, AccelMetrics.Tags("kind", outcome == RelayOutcome.Stalled ? "stalled_reader" : "link_timeout"));
        }

        clientSide.Fail(outcome);
        serverSide.Fail(outcome);
    }

    /// <summary>One direction relayed as bytes.</summary>
    private sealed class ByteCopy(RelayLeg from, RelayLeg to, string label, string direction)
    {
        private readonly TagList _tags = AccelMetrics.Tags("channel", label, "direction", direction);

        public async Task RunAsync(CancellationToken token)
        {
            var source = from.Input;
            while (true)
            {
                var result = await source.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    await to.Output.EnterAsync(token).ConfigureAwait(false);
                    try
                    {
                        foreach (var segment in buffer)
                        {
                            to.Output.Write(segment.Span);
                        }
                    }
                    finally
                    {
                        await to.Output.ExitAsync(token).ConfigureAwait(false);
                    }

                    AccelMetrics.RelayBytes.Add(to.Output.TakeWritten(), _tags);
                }

                source.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
    }
}
