using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Accel.Core.Diagnostics;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Relay;

/// <summary>
/// Relays one direction of a linked channel message by message. Each header is framed once
/// (<see cref="SpiceMessageReader"/>); a message some policy needs whole is read whole (an inspected one bounded by
/// <see cref="SpiceRelaySettings.MaxInspectedMessage"/>) and offered to the policies in order; any other message's
/// header is forwarded at once and its body streamed through as it arrives, so nothing is buffered beyond one read.
/// </summary>
internal sealed class MessageLoop(
    PipeReader source,
    LegWriter destination,
    SpiceDirection direction,
    SpiceMessageReader reader,
    IChannelPolicy[] policies,
    int maxInspectedMessage,
    string channelLabel)
{
    private readonly TagList _tags = AccelMetrics.Tags("channel", channelLabel, "direction", direction == SpiceDirection.ClientToServer ? "to_server" : "to_client");
    private readonly IForwardObserver[] _observers = Array.FindAll(policies, static p => p is IForwardObserver).Select(static p => (IForwardObserver)p).ToArray();
    private long _bodyRemaining;

    public async Task RunAsync(CancellationToken token)
    {
        while (true)
        {
            var result = await source.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            long messages;
            await destination.EnterAsync(token).ConfigureAwait(false);
            try
            {
                messages = ProcessBatch(ref buffer);
            }
            finally
            {
                await destination.ExitAsync(token).ConfigureAwait(false);
            }

            var forwarded = destination.TakeWritten();
            if (forwarded > 0)
            {
                AccelMetrics.RelayBytes.Add(forwarded, _tags);
                foreach (var observer in _observers)
                {
                    observer.OnForwarded(direction, forwarded);
                }
            }

            if (messages > 0)
            {
                AccelMetrics.RelayMessages.Add(messages, _tags);
            }

            source.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                if (_bodyRemaining > 0 || !buffer.IsEmpty)
                {
                    SpiceThrow.Truncated($"the last {Sender} message on the {channelLabel} channel");
                }

                return;
            }
        }
    }

    private string Sender => direction == SpiceDirection.ClientToServer ? "client" : "server";

    /// <summary>Handles every complete message (and every streamable body byte) in <paramref name="buffer"/>.</summary>
    private long ProcessBatch(ref ReadOnlySequence<byte> buffer)
    {
        long messages = 0;
        while (true)
        {
            if (_bodyRemaining > 0)
            {
                var n = Math.Min(_bodyRemaining, buffer.Length);
                if (n == 0)
                {
                    break;
                }

                Copy(buffer.Slice(0, n), destination);
                buffer = buffer.Slice(n);
                _bodyRemaining -= n;
                destination.MidMessage = _bodyRemaining > 0;
                continue;
            }

            if (!reader.TryPeekHeader(buffer, out var header))
            {
                break;
            }

            var need = Examine(header.Type, header.Size);
            if (need == BodyNeed.None)
            {
                // Pass through: header now, body streamed.
                foreach (var policy in policies)
                {
                    policy.OnStreamed(direction, header.Type);
                }

                Copy(buffer.Slice(0, header.HeaderLength), destination);
                reader.SkipHeader(ref buffer, header);
                _bodyRemaining = header.Size;
                destination.MidMessage = _bodyRemaining > 0;
                messages++;
                continue;
            }

            if (need == BodyNeed.Inspect && header.Size > (uint)maxInspectedMessage)
            {
                SpiceThrow.Protocol(SpiceProtocolError.MessageTooLarge, $"{Sender} message type {header.Type} on the {channelLabel} channel announces {header.Size} bytes; at most {maxInspectedMessage} are expected");
            }

            var start = buffer;
            if (!reader.TryRead(ref buffer, out var message))
            {
                break;
            }

            messages++;
            if (Offer(message))
            {
                Copy(start.Slice(0, message.WireLength), destination);
            }
        }

        return messages;
    }

    private BodyNeed Examine(ushort type, uint size)
    {
        var need = BodyNeed.None;
        foreach (var policy in policies)
        {
            var n = policy.Examine(direction, type, size);
            if (n > need)
            {
                need = n;
            }
        }

        return need;
    }

    /// <summary>True when every policy let the message pass unchanged.</summary>
    private bool Offer(in SpiceMessage message)
    {
        foreach (var policy in policies)
        {
            if (policy.OnMessage(direction, message, destination) == PolicyVerdict.Drop)
            {
                return false;
            }
        }

        return true;
    }

    private static void Copy(in ReadOnlySequence<byte> data, IBufferWriter<byte> destination)
    {
        foreach (var segment in data)
        {
            destination.Write(segment.Span);
        }
    }
}
