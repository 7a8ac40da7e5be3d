namespace Accel.Core.Edges;

/// <summary>What the first bytes of a channel say before its link is read.</summary>
internal static class LinkSniff
{
    /// <summary>The content type byte of a TLS handshake record (a ClientHello starts with it).</summary>
    public const byte TlsHandshakeRecord = 0x16;

    /// <summary>
    /// True when a SPICE client speaks TLS to the server's TLS port end to end (e.g. through an HTTP CONNECT proxy, as
    /// Proxmox .vv files ask): the edges carry such a channel opaque.
    /// </summary>
    public static bool IsTls(byte first) => first == TlsHandshakeRecord;
}
