using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Accel.Core.Diagnostics;
using Accel.Core.Spice;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Framing;
using Accel.Core.Spice.Messages;
using Accel.Core.Spice.Relay;

namespace Accel.Core.Relay;

internal sealed partial class SpiceChannelRelay
{
    private SpiceMessageWriter _writer = new(miniHeader: true);

    /// <summary>
    /// Client edge, main channel: turns a migration destination into one reachable through the edges, or null to pass
    /// it unchanged (HTTP CONNECT and transparent clients reach any destination through the edges anyway).
    /// </summary>
    public Func<SpiceMigrationTarget, SpiceMigrationTarget?>? MigrationRewriter { get; set; }
    private int _maxMessage;
    private ClientLegAckGenerator? _clientAcks;
    private ServerLegAckResponder? _serverAcks;
    private MotionAckResponder? _motionAcks;
    private MotionCoalescer? _coalescer;
    private DisplayTranscoder? _transcoder;
    private DisplayBudget? _budget;
    private readonly Lock _budgetLock = new();
    private int _acksDue;

    /// <summary>Images the server edge re-encoded on this (display) channel, for tests.</summary>
    public long ImagesReencoded => _transcoder?.ImagesReencoded ?? 0;

    // The inputs state machines are shared by both directions at the client edge.
    private readonly Lock _inputsLock = new();

    private enum Verdict
    {
        Forward,
        Drop,
    }

    /// <summary>
    /// Relays messages in one direction. A message whose body the edge must see is read whole (bounded by
    /// <see cref="SpiceRelaySettings.MaxInspectedMessage"/>); any other message's header is forwarded at once and its
    /// body streamed through as it arrives, so nothing is buffered beyond one read.
    /// </summary>
    private async ValueTask CopyMessagesAsync(bool up, CancellationToken token)
    {
        var source = up ? UpSource : DownSource;
        var destination = up ? UpDestination : DownDestination;
        var gate = up ? UpGate : DownGate;
        var other = up ? DownDestination : UpDestination;
        var otherGate = up ? DownGate : UpGate;
        var tags = up ? _toServerTags : _toClientTags;
        var injections = new ArrayBufferWriter<byte>(256);
        long bodyRemaining = 0;

        while (true)
        {
            var result = await source.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            long forwarded;
            long messages;
            await gate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                (forwarded, messages) = ProcessBatch(up, ref buffer, ref bodyRemaining, destination, injections);
                if (forwarded > 0 || destination.UnflushedBytes > 0)
                {
                    await destination.FlushAsync(token).ConfigureAwait(false);
                }
            }
            finally
            {
                gate.Release();
            }

            // Answers for the other side (ACKs to the server, motion ACKs to the client), outside our own gate.
            if (injections.WrittenCount > 0)
            {
                await otherGate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    other.Write(injections.WrittenSpan);
                    await other.FlushAsync(token).ConfigureAwait(false);
                }
                finally
                {
                    otherGate.Release();
                }

                injections.ResetWrittenCount();
            }

            if (forwarded > 0)
            {
                AccelMetrics.RelayBytes.Add(forwarded, tags);
                if (!up && _budget is not null)
                {
                    lock (_budgetLock)
                    {
                        _budget.OnForwarded(forwarded);
                    }
                }
            }

            if (messages > 0)
            {
                AccelMetrics.RelayMessages.Add(messages, tags);
            }

            source.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                if (bodyRemaining > 0 || !buffer.IsEmpty)
                {
                    SpiceThrow.Truncated($"the last {(up ? "client" : "server")} message on the {_channelType.ToLabel()} channel");
                }

                await CompleteDestinationAsync(up).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>Handles every complete message (and every streamable body byte) in <paramref name="buffer"/>.</summary>
    private (long Forwarded, long Messages) ProcessBatch(bool up, ref ReadOnlySequence<byte> buffer, ref long bodyRemaining, PipeWriter destination, ArrayBufferWriter<byte> injections)
    {
        long forwarded = 0;
        long messages = 0;
        Span<byte> header = stackalloc byte[SpiceDataHeader.MiniLength];
        while (true)
        {
            if (bodyRemaining > 0)
            {
                var n = Math.Min(bodyRemaining, buffer.Length);
                if (n == 0)
                {
                    break;
                }

                Copy(buffer.Slice(0, n), destination);
                buffer = buffer.Slice(n);
                bodyRemaining -= n;
                forwarded += n;
                continue;
            }

            if (buffer.Length < SpiceDataHeader.MiniLength)
            {
                break;
            }

            buffer.Slice(0, SpiceDataHeader.MiniLength).CopyTo(header);
            var type = BinaryPrimitives.ReadUInt16LittleEndian(header);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(header[2..]);
            if (size > (uint)_maxMessage)
            {
                SpiceThrow.Protocol(SpiceProtocolError.MessageTooLarge, $"a {(up ? "client" : "server")} message of type {type} announces {size} bytes; the {_channelType.ToLabel()} channel allows {_maxMessage}");
            }

            bool transcode = !up && _transcoder is not null && _transcoder.Wants(type, size);
            if (!transcode && !MustInspect(up, type))
            {
                // Pass through: header now, body streamed.
                CountForAcks(up, type, default);
                Copy(buffer.Slice(0, SpiceDataHeader.MiniLength), destination);
                buffer = buffer.Slice(SpiceDataHeader.MiniLength);
                bodyRemaining = size;
                forwarded += SpiceDataHeader.MiniLength;
                messages++;
                continue;
            }

            if (!transcode && size > (uint)_settings.MaxInspectedMessage)
            {
                SpiceThrow.Protocol(SpiceProtocolError.MessageTooLarge, $"message type {type} on the {_channelType.ToLabel()} channel announces {size} bytes; at most {_settings.MaxInspectedMessage} are expected");
            }

            var total = SpiceDataHeader.MiniLength + size;
            if (buffer.Length < total)
            {
                break;
            }

            var message = buffer.Slice(0, total);
            var body = message.Slice(SpiceDataHeader.MiniLength);
            CountForAcks(up, type, body);
            if (transcode)
            {
                forwarded += _transcoder!.Transcode(type, body, destination);
                messages++;
                buffer = buffer.Slice(total);
                continue;
            }

            if (Inspect(up, type, body, destination, injections) == Verdict.Forward)
            {
                Copy(message, destination);
                forwarded += total;
                messages++;
            }

            buffer = buffer.Slice(total);
        }

        FlushAckReplies(injections);
        return (forwarded, messages);
    }

    /// <summary>Which messages the edge reads whole.</summary>
    private bool MustInspect(bool up, ushort type)
    {
        if (up)
        {
            // Client → server.
            if ((_clientAcks is not null || _serverAcks is not null) && type is (ushort)SpiceMsgc.Ack or (ushort)SpiceMsgc.AckSync)
            {
                return true;
            }

            if (_coalescer is not null || _motionAcks is not null)
            {
                return true; // every inputs message: keys must not overtake a pending motion
            }

            return _atClientEdge && LinkCapsRewriter.IsGlOnlyMessage(_channelType, SpiceDirection.ClientToServer, type);
        }

        // Server → client.
        if (type == (ushort)SpiceMsg.SetAck && (_serverAcks is not null || _clientAcks is not null))
        {
            return true;
        }

        if ((_coalescer is not null || _motionAcks is not null) && MotionAckResponder.IsServerMotionAck(type))
        {
            return true;
        }

        return _atClientEdge && (LinkCapsRewriter.IsGlOnlyMessage(_channelType, SpiceDirection.ServerToClient, type)
            || (_channelType == SpiceChannelType.Main && SpiceMigrationTarget.IsMigrationTargetMessage(type)));
    }

    /// <summary>The server edge plays the client for the server's ACK window; replies go back to the server.</summary>
    private void CountForAcks(bool up, ushort type, in ReadOnlySequence<byte> body)
    {
        if (!up && _serverAcks is not null)
        {
            // Pending replies are written by Inspect for SET_ACK; for other messages they are collected here. Each due
            // ACK is counted (a batch can complete several windows); the display budget may hold it back.
            var replies = _serverAcks.OnServerMessage(type, body);
            if ((replies & AckReplies.AckSync) != 0)
            {
                _pendingAckReplies |= AckReplies.AckSync;
                _acksDue = 0;
                if (_budget is not null)
                {
                    lock (_budgetLock)
                    {
                        _budget.ResetHeld(); // a new generation: the server counts from zero
                    }
                }
            }
            else if ((replies & AckReplies.Ack) != 0)
            {
                if (_budget is null)
                {
                    _acksDue++;
                }
                else
                {
                    lock (_budgetLock)
                    {
                        _budget.Observe(_stream.UnacknowledgedBytes, PathStatistics?.Invoke().MinRtt);
                        if (_budget.OnAckDue() == AckDecision.Send)
                        {
                            _acksDue++;
                        }
                    }
                }
            }
        }
        else if (!up && _clientAcks is not null && type != (ushort)SpiceMsg.SetAck)
        {
            _clientAcks.OnMessageSent();
        }
    }

    private AckReplies _pendingAckReplies;

    private Verdict Inspect(bool up, ushort type, in ReadOnlySequence<byte> body, PipeWriter destination, ArrayBufferWriter<byte> injections)
    {
        if (up)
        {
            if (type is (ushort)SpiceMsgc.Ack or (ushort)SpiceMsgc.AckSync && (_clientAcks is not null || _serverAcks is not null))
            {
                // The client's ACKs end at the client edge; the server edge answers the server itself.
                _clientAcks?.OnClientMessage(type, body);
                return Verdict.Drop;
            }

            if (_coalescer is not null || _motionAcks is not null)
            {
                return InspectInputsFromClient(type, body, destination, injections);
            }

            return Verdict.Drop; // GL_DRAW_DONE
        }

        if (type == (ushort)SpiceMsg.SetAck)
        {
            // Flow control of one leg only. (CountForAcks already fed it to the server-leg responder.)
            FlushAckReplies(injections);
            return Verdict.Drop;
        }

        if ((_coalescer is not null || _motionAcks is not null) && MotionAckResponder.IsServerMotionAck(type))
        {
            lock (_inputsLock)
            {
                if (_coalescer?.OnServerMotionAck() == true)
                {
                    // A pending (coalesced) motion may go now: toward the server, i.e. the other destination.
                    _coalescer.WritePending(_writer, injections);
                }
            }

            return Verdict.Drop; // the client got its motion ACKs from this edge already
        }

        if (SpiceMigrationTarget.IsMigrationTargetMessage(type))
        {
            var target = SpiceMigrationTarget.Parse(type, body);
            var rewritten = MigrationRewriter?.Invoke(target);
            if (rewritten is null)
            {
                SpiceRelayLog.MigrationUnchanged(_logger, target.Host, target.Port);
                return Verdict.Forward;
            }

            // The client goes to a port of this edge that leads to the new server through the same server edge.
            rewritten.WriteTo(_writer, destination);
            SpiceRelayLog.MigrationRewritten(_logger, target.Host, target.Port, rewritten.Host, rewritten.Port);
            return Verdict.Drop;
        }

        return Verdict.Drop; // GL-only display messages
    }

    private Verdict InspectInputsFromClient(ushort type, in ReadOnlySequence<byte> body, PipeWriter destination, ArrayBufferWriter<byte> injections)
    {
        lock (_inputsLock)
        {
            if (_motionAcks?.OnClientMessage(type) == true)
            {
                MotionAckResponder.WriteAck(_writer, injections);
                LocalAnswers++;
                AccelMetrics.LocalAcks.Add(1, AccelMetrics.Tags("kind", "motion_ack"));
            }

            if (_coalescer is null)
            {
                // Client edge: only a well-formed motion crosses the WAN (the server edge parses it to coalesce).
                if (type == (ushort)SpiceInputsMsgc.MouseMotion)
                {
                    _ = SpiceMouseMotion.Parse(body);
                }
                else if (type == (ushort)SpiceInputsMsgc.MousePosition)
                {
                    _ = SpiceMousePosition.Parse(body);
                }

                return Verdict.Forward;
            }

            switch (_coalescer.OnClientMessage(type, body))
            {
                case MotionDecision.Absorbed:
                    return Verdict.Drop;
                case MotionDecision.FlushPendingThenForward:
                    _coalescer.WritePending(_writer, destination);
                    return Verdict.Forward;
                default:
                    return Verdict.Forward;
            }
        }
    }

    /// <summary>Writes the ACKs and ACK_SYNC due to the server (they go to the server: the other side).</summary>
    private void FlushAckReplies(ArrayBufferWriter<byte> injections)
    {
        if (_serverAcks is null)
        {
            return;
        }

        for (; _acksDue > 0; _acksDue--)
        {
            _serverAcks.WriteReplies(AckReplies.Ack, _writer, injections);
            LocalAnswers++;
            AccelMetrics.LocalAcks.Add(1, AccelMetrics.Tags("kind", "ack"));
        }

        if (_pendingAckReplies != AckReplies.None)
        {
            _serverAcks.WriteReplies(_pendingAckReplies, _writer, injections);
            LocalAnswers++;
            AccelMetrics.LocalAcks.Add(1, AccelMetrics.Tags("kind", "ack"));
            _pendingAckReplies = AckReplies.None;
        }
    }

    /// <summary>
    /// Server edge, display channel: samples the path every few milliseconds for the display budget and sends the ACKs
    /// it held back once the client edge has caught up (or they have waited the longest hold).
    /// </summary>
    private async Task PaceAcksAsync(CancellationToken token)
    {
        var writer = new SpiceMessageWriter(miniHeader: true);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                int release;
                lock (_budgetLock)
                {
                    _budget!.Observe(_stream.UnacknowledgedBytes, PathStatistics?.Invoke().MinRtt);
                    release = _budget.TryRelease();
                }

                if (release == 0)
                {
                    continue;
                }

                await _socketGate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    for (var i = 0; i < release; i++)
                    {
                        writer.Write(_toSocket, SpiceEmptyMessage.Ack);
                    }

                    await _toSocket.FlushAsync(token).ConfigureAwait(false);
                }
                finally
                {
                    _socketGate.Release();
                }

                LocalAnswers += release;
                AccelMetrics.LocalAcks.Add(release, AccelMetrics.Tags("kind", "ack"));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The socket toward the server failed: the pumps see it and end the channel.
        }
    }
}
