namespace Spice.Codecs;

/// <summary>A SPICE palette: entries are 0x00RRGGBB (little-endian B, G, R, x in memory).</summary>
public sealed class SpicePalette
{
    private readonly uint[] _entries;

    public SpicePalette(ReadOnlySpan<uint> entries, ulong unique = 0)
    {
        if (entries.Length is 0 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(entries), "A palette has 1 to 256 entries.");
        }

        _entries = entries.ToArray();
        Unique = unique;
    }

    /// <summary>The palette cache key (0 = not cacheable).</summary>
    public ulong Unique { get; }

    public ReadOnlySpan<uint> Entries => _entries;

    public int Count => _entries.Length;

    /// <summary>Entry <paramref name="index"/>, or 0 (black) when out of range.</summary>
    internal uint Get(int index) => (uint)index < (uint)_entries.Length ? _entries[index] : 0;
}
