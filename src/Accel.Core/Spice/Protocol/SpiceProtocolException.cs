using System.Diagnostics.CodeAnalysis;

namespace Accel.Core.Spice.Protocol;

/// <summary>Why a SPICE byte stream was rejected. Every value closes the session.</summary>
internal enum SpiceProtocolError
{
    /// <summary>The link header does not start with "REDQ" (for example an HTTP/WebSocket request).</summary>
    InvalidMagic,
    /// <summary>The link header's major version is not 2.</summary>
    UnsupportedVersion,
    /// <summary>A link header announces more bytes than the configured maximum.</summary>
    LinkMessageTooLarge,
    /// <summary>A link header announces fewer bytes than the fixed part of the link message.</summary>
    LinkMessageTooSmall,
    /// <summary>Capability counts or offset do not fit the link message.</summary>
    InvalidCapabilities,
    /// <summary>A data header announces a body larger than the configured maximum.</summary>
    MessageTooLarge,
    /// <summary>A message body is shorter than its fixed layout.</summary>
    Truncated,
    /// <summary>A pointer (offset from the body start) points outside the body.</summary>
    InvalidOffset,
    /// <summary>A sub-message list or sub-message does not fit its message.</summary>
    InvalidSubMessageList,
    /// <summary>A string field is malformed (missing terminator, bad length).</summary>
    InvalidString,
    /// <summary>A field holds a value the protocol does not allow here.</summary>
    InvalidValue,
    /// <summary>Legal SPICE that this implementation does not handle (e.g. SASL through a pass-through link).</summary>
    Unsupported,
}

/// <summary>
/// A violation of the SPICE protocol by the peer. The only exception SPICE parsers throw on bad input;
/// incomplete input is not an error (parsers return false).
/// </summary>
internal sealed class SpiceProtocolException : Exception
{
    public SpiceProtocolException(SpiceProtocolError error, string message)
        : base(message)
    {
        Error = error;
    }

    public SpiceProtocolError Error { get; }
}

internal static class SpiceThrow
{
    [DoesNotReturn]
    public static void Protocol(SpiceProtocolError error, string message) => throw new SpiceProtocolException(error, message);

    [DoesNotReturn]
    public static void Truncated(string what) => throw new SpiceProtocolException(SpiceProtocolError.Truncated, $"{what} is truncated.");

    [DoesNotReturn]
    public static T Truncated<T>(string what) => throw new SpiceProtocolException(SpiceProtocolError.Truncated, $"{what} is truncated.");
}
