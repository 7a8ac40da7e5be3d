using System.Collections;

namespace Accel.Core.Transport.Tls;

/// <summary>
/// A pin list whose contents can be replaced while a listener runs (configuration reload). Both engines read
/// <see cref="PeerTrust.PinnedSpkiSha256"/> at each handshake, so a listener given this list authenticates new
/// peers against the pins of the latest reload; connections already up are not touched here.
/// </summary>
public sealed class ReloadablePins(IEnumerable<byte[]> pins) : IReadOnlyList<byte[]>
{
    private volatile byte[][] _pins = [.. pins];

    public int Count => _pins.Length;

    public byte[] this[int index] => _pins[index];

    /// <summary>Replaces the whole list at once; a handshake sees either the old or the new list.</summary>
    public void Replace(IEnumerable<byte[]> pins) => _pins = [.. pins];

    public bool Contains(ReadOnlySpan<byte> pin)
    {
        foreach (var p in _pins)
        {
            if (pin.SequenceEqual(p))
            {
                return true;
            }
        }

        return false;
    }

    public IEnumerator<byte[]> GetEnumerator() => ((IEnumerable<byte[]>)_pins).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
