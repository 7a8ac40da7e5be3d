using System.Security.Cryptography;
using System.Text;

namespace Accel.Core.Spice.Protocol.Link;

/// <summary>
/// The SPICE ticket: <c>password + '\0'</c> encrypted with the server's per-link RSA key using OAEP (SHA-1, MGF1-SHA1,
/// empty label). spice-server decrypts it even with ticketing disabled, so a link always needs a real encryption.
/// </summary>
internal static class SpiceTicket
{
    /// <summary>SPICE_MAX_PASSWORD_LENGTH.</summary>
    public const int MaxPasswordLength = 60;

    /// <summary>Encrypts <paramref name="password"/> for a server whose SpiceLinkReply carried <paramref name="subjectPublicKeyInfo"/>.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> subjectPublicKeyInfo, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var byteCount = Encoding.UTF8.GetByteCount(password);
        if (byteCount > MaxPasswordLength)
        {
            throw new ArgumentException($"SPICE passwords are at most {MaxPasswordLength} bytes.", nameof(password));
        }

        Span<byte> plain = stackalloc byte[byteCount + 1];
        Encoding.UTF8.GetBytes(password, plain);
        plain[byteCount] = 0;
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
        }
        catch (CryptographicException ex)
        {
            throw new SpiceProtocolException(SpiceProtocolError.InvalidValue, $"The server's public key is not a valid RSA SubjectPublicKeyInfo: {ex.Message}");
        }

        var encrypted = rsa.Encrypt(plain, RSAEncryptionPadding.OaepSHA1);
        if (encrypted.Length != SpiceLinkAuth.EncryptedTicketLength)
        {
            throw new SpiceProtocolException(SpiceProtocolError.InvalidValue, $"The server's RSA key gives {encrypted.Length}-byte tickets, not {SpiceLinkAuth.EncryptedTicketLength}.");
        }

        return encrypted;
    }

    /// <summary>Decrypts a ticket with our own key pair (an edge that presents its own key to the client). Null when it does not decrypt.</summary>
    public static string? TryDecrypt(RSA privateKey, ReadOnlySpan<byte> encryptedTicket)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        byte[] plain;
        try
        {
            plain = privateKey.Decrypt(encryptedTicket.ToArray(), RSAEncryptionPadding.OaepSHA1);
        }
        catch (CryptographicException)
        {
            return null;
        }

        var end = Array.IndexOf(plain, (byte)0);
        return Encoding.UTF8.GetString(plain, 0, end < 0 ? plain.Length : end);
    }

    /// <summary>A fresh 1024-bit key pair as spice-server makes one per link; the public half is 162 bytes of SPKI.</summary>
    public static RSA CreateKeyPair() => RSA.Create(1024);
}
