using System.Buffers;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Link;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Relay;

/// <summary>
/// Relays the link phase of one channel in its strict request/response order, byte for byte (the ticket stays
/// opaque), and says whether the rest can be relayed message by message. The client's SpiceLinkMess may have been
/// read, rewritten and forwarded by the edge already (<see cref="ClientLink"/>), so it is parsed once per edge.
/// </summary>
internal sealed class LinkPhase(RelayLeg clientSide, RelayLeg serverSide, ClientLink? clientLink, ILogger logger)
{
    private readonly SpiceLinkPassThrough _link = new();

    public SpiceLinkPassThrough Link => _link;

    /// <summary>Runs the link phase; false when the rest must be relayed as bytes (SASL, refused, no mini header).</summary>
    public async Task<bool> RunAsync(Action<SpiceLinkMess> onChannel, CancellationToken token)
    {
        // 1. SpiceLinkMess, client → server.
        if (clientLink is { } known)
        {
            _link.AcceptClientMessage(known.Original, known.Forwarded);
        }
        else if (!await RelayItemAsync(fromClient: true, token).ConfigureAwait(false))
        {
            return false;
        }

        var channel = _link.ClientMessage!.ChannelType;
        onChannel(_link.ClientMessage);

        // 2. SpiceLinkReply, server → client.
        await RelayItemAsync(fromClient: false, token).ConfigureAwait(false);
        if (_link.Stage == SpiceLinkStage.Refused)
        {
            PumpLog.LinkRefused(logger, channel.ToLabel(), _link.Result?.ToString() ?? "?");
            return false;
        }

        // 3. Auth mechanism (with auth selection) and the opaque RSA ticket, client → server.
        if (_link.Stage == SpiceLinkStage.AwaitingAuthMechanism && !await RelayItemAsync(fromClient: true, token).ConfigureAwait(false))
        {
            return false;
        }

        await RelayItemAsync(fromClient: true, token).ConfigureAwait(false);

        // 4. Link result, server → client.
        await RelayItemAsync(fromClient: false, token).ConfigureAwait(false);
        if (_link.Stage != SpiceLinkStage.Linked)
        {
            PumpLog.LinkRefused(logger, channel.ToLabel(), _link.Result?.ToString() ?? "?");
            return false;
        }

        var mini = _link.ServerLegSession!.UseMiniHeader && _link.ClientLegSession!.UseMiniHeader;
        PumpLog.Linked(logger, channel.ToLabel(), mini);
        if (!mini)
        {
            PumpLog.BytesMode(logger, channel.ToLabel(), "the peers did not negotiate the mini header");
        }

        return mini;
    }

    /// <summary>
    /// Reads one link item from one side and forwards it byte for byte. False when the item cannot pass through
    /// message-aware (SASL): it and everything after it is then relayed as bytes.
    /// </summary>
    private async Task<bool> RelayItemAsync(bool fromClient, CancellationToken token)
    {
        var source = fromClient ? clientSide.Input : serverSide.Input;
        var destination = fromClient ? serverSide.Output : clientSide.Output;
        while (true)
        {
            var result = await source.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            var rest = buffer;
            bool got;
            SpiceLinkItem item;
            try
            {
                got = fromClient ? _link.TryReadFromClient(ref rest, out item) : _link.TryReadFromServer(ref rest, out item);
            }
            catch (SpiceProtocolException ex) when (ex.Error == SpiceProtocolError.Unsupported)
            {
                // SASL: the edge cannot follow it, but it can still carry it.
                PumpLog.BytesMode(logger, _link.ClientMessage?.ChannelType.ToLabel() ?? "unknown", ex.Message);
                source.AdvanceTo(buffer.Start);
                return false;
            }

            if (got)
            {
                await destination.EnterAsync(token).ConfigureAwait(false);
                try
                {
                    foreach (var segment in item.Raw)
                    {
                        destination.Write(segment.Span);
                    }
                }
                finally
                {
                    await destination.ExitAsync(token).ConfigureAwait(false);
                }

                source.AdvanceTo(rest.Start);
                return true;
            }

            if (result.IsCompleted)
            {
                throw new IOException((fromClient ? "the client" : "the server") + " closed the connection during the link phase");
            }

            source.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}

/// <summary>The client's SpiceLinkMess as the edge read it and as it forwarded it (rewritten, sent already).</summary>
internal sealed record ClientLink(SpiceLinkMess Original, SpiceLinkMess Forwarded);
