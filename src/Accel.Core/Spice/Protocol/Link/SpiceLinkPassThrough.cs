using System.Buffers;

namespace Accel.Core.Spice.Protocol.Link;

/// <summary>Where a pass-through link phase stands.</summary>
internal enum SpiceLinkStage
{
    AwaitingLinkMess,
    AwaitingLinkReply,
    AwaitingAuthMechanism,
    AwaitingTicket,
    AwaitingLinkResult,
    /// <summary>Link result OK: everything after it is the message phase.</summary>
    Linked,
    /// <summary>The server refused (error reply or non-OK result) and closes the connection.</summary>
    Refused,
}

internal enum SpiceLinkItemKind
{
    LinkMess,
    LinkReply,
    AuthMechanism,
    EncryptedTicket,
    LinkResult,
}

/// <summary>One link-phase item as read, with its raw bytes (a slice of the caller's buffer) for byte-exact forwarding.</summary>
internal readonly struct SpiceLinkItem
{
    public SpiceLinkItem(SpiceLinkItemKind kind, ReadOnlySequence<byte> raw)
    {
        Kind = kind;
        Raw = raw;
    }

    public SpiceLinkItemKind Kind { get; }

    public ReadOnlySequence<byte> Raw { get; }
}

/// <summary>
/// Follows the link phase of one channel connection that an edge relays: it says what each side sends next, parses
/// it, and records both legs' view of the negotiation. The edge may forward an item byte-exact (<see cref="SpiceLinkItem.Raw"/>)
/// or rewrite SpiceLinkMess/Reply (e.g. strip GL_SCANOUT) and report what it forwarded with
/// <see cref="ForwardClientMessage"/> / <see cref="ForwardServerReply"/>; the ticket always passes untouched
/// (the RSA key is tied to nothing else in the link). SASL cannot pass through and is reported as unsupported.
/// Not thread-safe: each direction is read by one loop, and the phase is strictly request/response.
/// </summary>
internal sealed class SpiceLinkPassThrough
{
    private readonly uint _maxLinkSize;

    public SpiceLinkPassThrough(uint maxLinkSize = SpiceLinkHeader.DefaultMaxSize) => _maxLinkSize = maxLinkSize;

    public SpiceLinkStage Stage { get; private set; } = SpiceLinkStage.AwaitingLinkMess;

    /// <summary>SpiceLinkMess as the client sent it.</summary>
    public SpiceLinkMess? ClientMessage { get; private set; }

    /// <summary>SpiceLinkMess as forwarded to the server (the client's unless rewritten).</summary>
    public SpiceLinkMess? ForwardedClientMessage { get; private set; }

    /// <summary>SpiceLinkReply as the server sent it.</summary>
    public SpiceLinkReply? ServerReply { get; private set; }

    /// <summary>SpiceLinkReply as forwarded to the client (the server's unless rewritten).</summary>
    public SpiceLinkReply? ForwardedServerReply { get; private set; }

    public SpiceAuthMechanism? AuthMechanism { get; private set; }

    public SpiceLinkError? Result { get; private set; }

    /// <summary>What the server-side leg negotiated (forwarded message, server's reply). Set once linked.</summary>
    public LinkSession? ServerLegSession { get; private set; }

    /// <summary>What the client-side leg negotiated (client's message, forwarded reply). Set once linked.</summary>
    public LinkSession? ClientLegSession { get; private set; }

    /// <summary>Reads the next client → server item. False (nothing consumed) when incomplete or when nothing is due from the client.</summary>
    public bool TryReadFromClient(ref ReadOnlySequence<byte> buffer, out SpiceLinkItem item)
    {
        item = default;
        var start = buffer;
        switch (Stage)
        {
            case SpiceLinkStage.AwaitingLinkMess:
                if (!SpiceLinkMess.TryParse(ref buffer, _maxLinkSize, out var message))
                {
                    return false;
                }

                ClientMessage = message;
                ForwardedClientMessage = message;
                Stage = SpiceLinkStage.AwaitingLinkReply;
                item = new SpiceLinkItem(SpiceLinkItemKind.LinkMess, start.Slice(0, buffer.Start));
                return true;

            case SpiceLinkStage.AwaitingAuthMechanism:
                if (!SpiceLinkAuth.TryReadAuthMechanism(ref buffer, out var mechanism))
                {
                    return false;
                }

                if (mechanism == SpiceAuthMechanism.Sasl)
                {
                    SpiceThrow.Protocol(SpiceProtocolError.Unsupported, "The client chose SASL; SASL cannot pass through the edge.");
                }

                if (mechanism != SpiceAuthMechanism.Spice)
                {
                    SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"Unknown auth mechanism {(uint)mechanism}.");
                }

                AuthMechanism = mechanism;
                Stage = SpiceLinkStage.AwaitingTicket;
                item = new SpiceLinkItem(SpiceLinkItemKind.AuthMechanism, start.Slice(0, buffer.Start));
                return true;

            case SpiceLinkStage.AwaitingTicket:
                if (!SpiceLinkAuth.TryReadEncryptedTicket(ref buffer, out var ticket))
                {
                    return false;
                }

                Stage = SpiceLinkStage.AwaitingLinkResult;
                item = new SpiceLinkItem(SpiceLinkItemKind.EncryptedTicket, ticket);
                return true;

            default:
                return false;
        }
    }

    /// <summary>Reads the next server → client item. False (nothing consumed) when incomplete or when nothing is due from the server.</summary>
    public bool TryReadFromServer(ref ReadOnlySequence<byte> buffer, out SpiceLinkItem item)
    {
        item = default;
        var start = buffer;
        switch (Stage)
        {
            case SpiceLinkStage.AwaitingLinkReply:
                if (!SpiceLinkReply.TryParse(ref buffer, _maxLinkSize, out var reply))
                {
                    return false;
                }

                ServerReply = reply;
                ForwardedServerReply = reply;
                if (reply!.Error != SpiceLinkError.Ok)
                {
                    Result = reply.Error;
                    Stage = SpiceLinkStage.Refused;
                }
                else
                {
                    // The server expects a mechanism when the client (as the server saw it) offered auth selection.
                    Stage = SpiceLinkAuth.UsesAuthSelection(ForwardedClientMessage!.CommonCaps, reply.CommonCaps)
                        ? SpiceLinkStage.AwaitingAuthMechanism
                        : SpiceLinkStage.AwaitingTicket;
                }

                item = new SpiceLinkItem(SpiceLinkItemKind.LinkReply, start.Slice(0, buffer.Start));
                return true;

            case SpiceLinkStage.AwaitingLinkResult:
                if (!SpiceLinkAuth.TryReadLinkResult(ref buffer, out var result))
                {
                    return false;
                }

                Result = result;
                if (result == SpiceLinkError.Ok)
                {
                    Stage = SpiceLinkStage.Linked;
                    ServerLegSession = LinkSession.Create(ForwardedClientMessage!, ServerReply!, AuthMechanism);
                    ClientLegSession = LinkSession.Create(ClientMessage!, ForwardedServerReply!, AuthMechanism);
                }
                else
                {
                    Stage = SpiceLinkStage.Refused;
                }

                item = new SpiceLinkItem(SpiceLinkItemKind.LinkResult, start.Slice(0, buffer.Start));
                return true;

            default:
                return false;
        }
    }

    /// <summary>
    /// Takes a SpiceLinkMess the edge read (and forwarded, possibly rewritten) itself, before this pass-through
    /// started: the client's bytes for it are not read again.
    /// </summary>
    public void AcceptClientMessage(SpiceLinkMess original, SpiceLinkMess forwarded)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(forwarded);
        if (Stage != SpiceLinkStage.AwaitingLinkMess)
        {
            throw new InvalidOperationException("SpiceLinkMess was read already.");
        }

        ClientMessage = original;
        ForwardedClientMessage = forwarded;
        Stage = SpiceLinkStage.AwaitingLinkReply;
    }

    /// <summary>Records that a rewritten SpiceLinkMess was sent to the server instead of the client's.</summary>
    public void ForwardClientMessage(SpiceLinkMess forwarded)
    {
        ArgumentNullException.ThrowIfNull(forwarded);
        if (Stage != SpiceLinkStage.AwaitingLinkReply)
        {
            throw new InvalidOperationException("SpiceLinkMess can only be replaced before the server replies.");
        }

        ForwardedClientMessage = forwarded;
    }

    /// <summary>Records that a rewritten SpiceLinkReply was sent to the client instead of the server's.</summary>
    public void ForwardServerReply(SpiceLinkReply forwarded)
    {
        ArgumentNullException.ThrowIfNull(forwarded);
        if (ServerReply is null || Stage is SpiceLinkStage.Linked or SpiceLinkStage.Refused)
        {
            throw new InvalidOperationException("SpiceLinkReply can only be replaced after the server's reply and before the link result.");
        }

        ForwardedServerReply = forwarded;
    }
}
