using System.Buffers;
using System.IO.Pipelines;

namespace Accel.Core.Spice.Protocol.Link;

/// <summary>How a client-side link attempt ended. <see cref="Session"/> is set only on success.</summary>
internal sealed record SpiceLinkResult(SpiceLinkError Error, LinkSession? Session, SpiceLinkReply? Reply, string? FailureReason = null)
{
    public bool Succeeded => Error == SpiceLinkError.Ok && Session is not null;
}

/// <summary>
/// Performs the client side of the link phase (SpiceLinkMess → SpiceLinkReply → auth mechanism → ticket → result)
/// over a duplex pipe, with SPICE ticket authentication. Bytes after the link result stay in the reader for the
/// message phase. Used by the server-side edge when it links to the real server itself, and by tests.
/// </summary>
internal static class SpiceLinkClient
{
    private delegate bool TryParser<T>(ref ReadOnlySequence<byte> buffer, out T value);

    public static async ValueTask<SpiceLinkResult> LinkAsync(
        PipeReader input,
        PipeWriter output,
        SpiceLinkMess message,
        string password,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(password);

        message.WriteTo(output);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);

        var reply = await ReadAsync<SpiceLinkReply?>(
            input,
            static (ref ReadOnlySequence<byte> buffer, out SpiceLinkReply? value) => SpiceLinkReply.TryParse(ref buffer, SpiceLinkHeader.DefaultMaxSize, out value),
            cancellationToken).ConfigureAwait(false);
        if (reply!.Error != SpiceLinkError.Ok)
        {
            return new SpiceLinkResult(reply.Error, null, reply, "The server refused the link.");
        }

        SpiceAuthMechanism? mechanism = null;
        if (SpiceLinkAuth.UsesAuthSelection(message.CommonCaps, reply.CommonCaps))
        {
            mechanism = SpiceLinkAuth.ChooseMechanism(reply.CommonCaps, clientSupportsSasl: false);
            if (mechanism is null)
            {
                return new SpiceLinkResult(SpiceLinkError.Error, null, reply, "The server offers no SPICE ticket authentication (SASL only).");
            }

            SpiceLinkAuth.WriteAuthMechanism(output, mechanism.Value);
        }

        var ticket = SpiceTicket.Encrypt(reply.PublicKey.Span, password);
        SpiceLinkAuth.WriteEncryptedTicket(output, ticket);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);

        var result = await ReadAsync<SpiceLinkError>(input, SpiceLinkAuth.TryReadLinkResult, cancellationToken).ConfigureAwait(false);
        return result == SpiceLinkError.Ok
            ? new SpiceLinkResult(result, LinkSession.Create(message, reply, mechanism), reply)
            : new SpiceLinkResult(result, null, reply, "The server rejected the ticket or the channel.");
    }

    private static async ValueTask<T> ReadAsync<T>(PipeReader input, TryParser<T> parser, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            if (parser(ref buffer, out var value))
            {
                input.AdvanceTo(buffer.Start);
                return value;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted || read.IsCanceled)
            {
                throw new EndOfStreamException("The peer closed the connection during the link phase.");
            }
        }
    }
}
