using System.Buffers;
using System.Buffers.Binary;

namespace Accel.Core.Spice.Protocol.Link;

/// <summary>SpiceLinkAuthMechanism values: the number of the chosen common capability.</summary>
internal enum SpiceAuthMechanism : uint
{
    Spice = (uint)SpiceCommonCap.AuthSpice,
    Sasl = (uint)SpiceCommonCap.AuthSasl,
}

/// <summary>
/// The small fixed-size link-phase items after SpiceLinkMess/Reply: the auth mechanism (client, u32), the
/// RSA-OAEP encrypted ticket (client, 128 opaque bytes) and the link result (server, u32).
/// </summary>
internal static class SpiceLinkAuth
{
    /// <summary>RSA_size of the server's 1024-bit key: the encrypted ticket is always this long.</summary>
    public const int EncryptedTicketLength = 128;

    public const int AuthMechanismLength = 4;

    public const int LinkResultLength = 4;

    /// <summary>
    /// Whether the client sends SpiceLinkAuthMechanism before the ticket: both sides advertised
    /// PROTOCOL_AUTH_SELECTION (spice-gtk looks at the server's caps, spice-server at the client's).
    /// </summary>
    public static bool UsesAuthSelection(SpiceCapabilitySet clientCommonCaps, SpiceCapabilitySet serverCommonCaps) =>
        clientCommonCaps.Has(SpiceCommonCap.ProtocolAuthSelection) && serverCommonCaps.Has(SpiceCommonCap.ProtocolAuthSelection);

    /// <summary>
    /// The client's choice, as spice-gtk makes it: SASL when the server offers it and the client wants it, else
    /// SPICE ticket auth when the server offers it, else none (the link must fail).
    /// </summary>
    public static SpiceAuthMechanism? ChooseMechanism(SpiceCapabilitySet serverCommonCaps, bool clientSupportsSasl)
    {
        if (clientSupportsSasl && serverCommonCaps.Has(SpiceCommonCap.AuthSasl))
        {
            return SpiceAuthMechanism.Sasl;
        }

        if (serverCommonCaps.Has(SpiceCommonCap.AuthSpice))
        {
            return SpiceAuthMechanism.Spice;
        }

        return null;
    }

    /// <summary>Reads the client's u32 mechanism. Values other than 1 and 2 are returned as-is (the server answers INVALID_DATA).</summary>
    public static bool TryReadAuthMechanism(ref ReadOnlySequence<byte> buffer, out SpiceAuthMechanism mechanism)
    {
        var ok = TryReadUInt32(ref buffer, out var value);
        mechanism = (SpiceAuthMechanism)value;
        return ok;
    }

    public static void WriteAuthMechanism(IBufferWriter<byte> output, SpiceAuthMechanism mechanism) => WriteUInt32(output, (uint)mechanism);

    /// <summary>Slices the 128-byte encrypted ticket without copying. It is opaque and is forwarded byte-exact.</summary>
    public static bool TryReadEncryptedTicket(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> ticket)
    {
        if (buffer.Length < EncryptedTicketLength)
        {
            ticket = default;
            return false;
        }

        ticket = buffer.Slice(0, EncryptedTicketLength);
        buffer = buffer.Slice(EncryptedTicketLength);
        return true;
    }

    public static void WriteEncryptedTicket(IBufferWriter<byte> output, ReadOnlySpan<byte> ticket)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (ticket.Length != EncryptedTicketLength)
        {
            throw new ArgumentException($"An encrypted ticket is {EncryptedTicketLength} bytes, not {ticket.Length}.", nameof(ticket));
        }

        output.Write(ticket);
    }

    public static void WriteEncryptedTicket(IBufferWriter<byte> output, in ReadOnlySequence<byte> ticket)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (ticket.Length != EncryptedTicketLength)
        {
            throw new ArgumentException($"An encrypted ticket is {EncryptedTicketLength} bytes, not {ticket.Length}.", nameof(ticket));
        }

        foreach (var segment in ticket)
        {
            output.Write(segment.Span);
        }
    }

    /// <summary>Reads the server's u32 link result (SpiceLinkErr; 0 = OK, then the message phase starts).</summary>
    public static bool TryReadLinkResult(ref ReadOnlySequence<byte> buffer, out SpiceLinkError result)
    {
        var ok = TryReadUInt32(ref buffer, out var value);
        result = (SpiceLinkError)value;
        return ok;
    }

    public static void WriteLinkResult(IBufferWriter<byte> output, SpiceLinkError result) => WriteUInt32(output, (uint)result);

    private static bool TryReadUInt32(ref ReadOnlySequence<byte> buffer, out uint value)
    {
        if (buffer.Length < 4)
        {
            value = 0;
            return false;
        }

        Span<byte> bytes = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(bytes);
        value = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        buffer = buffer.Slice(4);
        return true;
    }

    private static void WriteUInt32(IBufferWriter<byte> output, uint value)
    {
        ArgumentNullException.ThrowIfNull(output);
        var span = output.GetSpan(4);
        BinaryPrimitives.WriteUInt32LittleEndian(span, value);
        output.Advance(4);
    }
}
