using System.Buffers;
using System.IO.Pipelines;
using Accel.Core.Spice;
using Accel.Core.Spice.Framing;
using Accel.Core.Spice.Link;
using Accel.Core.Spice.Relay;

using Accel.Core.Spice.Display;

namespace Accel.Core.Relay;

internal sealed partial class SpiceChannelRelay
{
    private readonly SpiceLinkPassThrough _link = new();
    private bool _linkMessForwarded;

    /// <summary>Marks the SpiceLinkMess in the socket prefix as already sent (pipelined with the stream request).</summary>
    public void LinkMessAlreadyForwarded() => _linkMessForwarded = true;

    /// <summary>Relays the link phase in its strict request/response order and decides how to relay the rest.</summary>
    private async Task<RelayMode> LinkAsync(CancellationToken token)
    {
        // A SPICE client on the server's TLS port speaks TLS end to end (e.g. through an HTTP CONNECT proxy, as
        // Proxmox .vv files ask): the edges carry it opaque.
        if (await StartsWithTlsAsync(token).ConfigureAwait(false))
        {
            SpiceRelayLog.BytesMode(_logger, "unknown", "the client speaks TLS to the server (end to end)");
            return RelayMode.Bytes;
        }

        // 1. SpiceLinkMess, client → server.
        if (!await RelayLinkItemAsync(up: true, token).ConfigureAwait(false))
        {
            return RelayMode.Bytes;
        }

        SetChannel(_link.ClientMessage!.ChannelType);
        _stream.Priority = _channelType.ToPriorityClass();

        // 2. SpiceLinkReply, server → client.
        await RelayLinkItemAsync(up: false, token).ConfigureAwait(false);
        if (_link.Stage == SpiceLinkStage.Refused)
        {
            SpiceRelayLog.LinkRefused(_logger, _channelType.ToLabel(), _link.Result?.ToString() ?? "?");
            return RelayMode.Bytes;
        }

        // 3. Auth mechanism (with auth selection) and the opaque RSA ticket, client → server.
        if (_link.Stage == SpiceLinkStage.AwaitingAuthMechanism && !await RelayLinkItemAsync(up: true, token).ConfigureAwait(false))
        {
            return RelayMode.Bytes;
        }

        await RelayLinkItemAsync(up: true, token).ConfigureAwait(false);

        // 4. Link result, server → client.
        await RelayLinkItemAsync(up: false, token).ConfigureAwait(false);
        if (_link.Stage != SpiceLinkStage.Linked)
        {
            SpiceRelayLog.LinkRefused(_logger, _channelType.ToLabel(), _link.Result?.ToString() ?? "?");
            return RelayMode.Bytes;
        }

        var mini = _link.ServerLegSession!.UseMiniHeader && _link.ClientLegSession!.UseMiniHeader;
        SpiceRelayLog.Linked(_logger, _channelType.ToLabel(), mini);
        if (!mini)
        {
            SpiceRelayLog.BytesMode(_logger, _channelType.ToLabel(), "the peers did not negotiate the mini header");
            return RelayMode.Bytes;
        }

        await StartMessagePhaseAsync(token).ConfigureAwait(false);
        return RelayMode.Messages;
    }

    /// <summary>
    /// Reads one link item from one side and forwards it (rewritten where the edge must). False when the item cannot
    /// pass through message-aware (SASL): it and everything after it is then relayed as bytes.
    /// </summary>
    private async Task<bool> RelayLinkItemAsync(bool up, CancellationToken token)
    {
        var source = up ? UpSource : DownSource;
        var destination = up ? UpDestination : DownDestination;
        while (true)
        {
            var result = await source.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            var rest = buffer;
            bool got;
            SpiceLinkItem item;
            try
            {
                got = up ? _link.TryReadFromClient(ref rest, out item) : _link.TryReadFromServer(ref rest, out item);
            }
            catch (SpiceProtocolException ex) when (ex.Error == SpiceProtocolError.Unsupported)
            {
                // SASL: the edge cannot follow it, but it can still carry it.
                SpiceRelayLog.BytesMode(_logger, _channelType.ToLabel(), ex.Message);
                source.AdvanceTo(buffer.Start);
                return false;
            }

            if (got)
            {
                if (up && item.Kind == SpiceLinkItemKind.LinkMess && _linkMessForwarded)
                {
                    // The client edge sent the (rewritten) SpiceLinkMess with its stream request already.
                    var original = _link.ClientMessage!;
                    var rewritten = RewriteLinkMess(original);
                    if (!ReferenceEquals(rewritten, original))
                    {
                        _link.ForwardClientMessage(rewritten);
                    }
                }
                else if (up && item.Kind == SpiceLinkItemKind.LinkMess && _atClientEdge)
                {
                    var original = _link.ClientMessage!;
                    var rewritten = RewriteLinkMess(original);
                    if (!ReferenceEquals(rewritten, original))
                    {
                        _link.ForwardClientMessage(rewritten);
                        rewritten.WriteTo(destination);
                    }
                    else
                    {
                        Copy(item.Raw, destination);
                    }
                }
                else
                {
                    Copy(item.Raw, destination);
                }

                source.AdvanceTo(rest.Start);
                await destination.FlushAsync(token).ConfigureAwait(false);
                return true;
            }

            if (result.IsCompleted)
            {
                throw new IOException((up ? "the client" : "the server") + " closed the connection during the link phase");
            }

            source.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>True when the first byte from the client is a TLS handshake record (0x16).</summary>
    private async ValueTask<bool> StartsWithTlsAsync(CancellationToken token)
    {
        var source = UpSource;
        while (true)
        {
            var result = await source.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (!buffer.IsEmpty)
            {
                var first = buffer.FirstSpan[0];
                source.AdvanceTo(buffer.Start);
                return first == TlsHandshakeRecord;
            }

            source.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new IOException("the client closed the connection before the link phase");
            }
        }
    }

    /// <summary>The content type byte of a TLS handshake record (a ClientHello starts with it).</summary>
    internal const byte TlsHandshakeRecord = 0x16;

    /// <summary>
    /// What the client edge tells the server about the client: no GL scanout (a local dmabuf cannot cross the WAN) and
    /// no seamless migration (it would move the client off the edges).
    /// </summary>
    internal static SpiceLinkMess RewriteLinkMess(SpiceLinkMess original)
        => LinkCapsRewriter.StripMigration(LinkCapsRewriter.StripGlScanout(original));

    /// <summary>Sets up the per-channel state machines; the client edge gives the client its own SET_ACK.</summary>
    private async ValueTask StartMessagePhaseAsync(CancellationToken token)
    {
        _writer = new SpiceMessageWriter(miniHeader: true);
        _maxMessage = _settings.Limits.For(_channelType);
        var acked = _channelType is SpiceChannelType.Display or SpiceChannelType.Cursor;
        if (acked && _atClientEdge)
        {
            _clientAcks = new ClientLegAckGenerator(_settings.ClientLegAckWindow);
            await _socketGate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                _clientAcks.WriteSetAck(_writer, _toSocket);
                await _toSocket.FlushAsync(token).ConfigureAwait(false);
            }
            finally
            {
                _socketGate.Release();
            }
        }
        else if (acked)
        {
            _serverAcks = new ServerLegAckResponder();
            if (_channelType == SpiceChannelType.Display && _settings.DisplayBudget.Enabled)
            {
                _budget = new DisplayBudget(_settings.DisplayBudget, TimeProvider.System);
            }
        }

        if (_channelType == SpiceChannelType.Display && !_atClientEdge && _settings.DisplayCodec != DisplayCodec.Off)
        {
            // spice-gtk shares one GLZ window per session across display channels, and each transcoder has its own
            // dictionary: only display channel 0 may produce GLZ, the others use LZ.
            var codec = _settings.DisplayCodec == DisplayCodec.Glz && _link.ClientMessage!.ChannelId != 0 ? DisplayCodec.Lz : _settings.DisplayCodec;
            _transcoder = new DisplayTranscoder(codec, Math.Min(_settings.MaxTranscodedMessage, _maxMessage), _settings.DisplayKeepSmallerOriginal);
        }

        if (_channelType == SpiceChannelType.Inputs)
        {
            // The client edge answers the client's motions at once (spice-gtk sends at most 8 unacknowledged, so an
            // ACK from across the WAN would cap the pointer at 8 positions per round trip); every motion crosses the
            // WAN. The server edge keeps the server's 8-in-flight rule on its own short leg, coalescing only there.
            if (_atClientEdge)
            {
                _motionAcks = new MotionAckResponder();
            }
            else
            {
                _coalescer = new MotionCoalescer();
            }
        }
    }
}
