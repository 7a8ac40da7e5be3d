namespace Accel.Core.Spice.Protocol;

/// <summary>Common capabilities, the same bit numbers on every channel (spice/protocol.h).</summary>
internal enum SpiceCommonCap
{
    ProtocolAuthSelection = 0,
    AuthSpice = 1,
    AuthSasl = 2,
    MiniHeader = 3,
}

internal enum SpiceMainCap
{
    SemiSeamlessMigrate = 0,
    NameAndUuid = 1,
    AgentConnectedTokens = 2,
    SeamlessMigrate = 3,
}

internal enum SpiceDisplayCap
{
    SizedStream = 0,
    MonitorsConfig = 1,
    Composite = 2,
    A8Surface = 3,
    StreamReport = 4,
    Lz4Compression = 5,
    PrefCompression = 6,
    GlScanout = 7,
    MultiCodec = 8,
    CodecMjpeg = 9,
    CodecVp8 = 10,
    CodecH264 = 11,
    PrefVideoCodecType = 12,
    CodecVp9 = 13,
    CodecH265 = 14,
}

internal enum SpiceInputsCap
{
    KeyScancode = 0,
}

internal enum SpicePlaybackCap
{
    Celt051 = 0,
    Volume = 1,
    Latency = 2,
    Opus = 3,
}

internal enum SpiceRecordCap
{
    Celt051 = 0,
    Volume = 1,
    Opus = 2,
}

/// <summary>SpiceVMC channels: usbredir, port, webdav.</summary>
internal enum SpiceVmcCap
{
    DataCompressLz4 = 0,
}

/// <summary>
/// An immutable capability bit set as carried in the link messages: capability n is bit n % 32 of word n / 32.
/// The word count is kept as received so a forwarded set keeps its wire size.
/// </summary>
internal readonly struct SpiceCapabilitySet : IEquatable<SpiceCapabilitySet>
{
    /// <summary>Most words either side may send (spice-server rejects more).</summary>
    public const int MaxWords = 1024;

    private readonly uint[]? _words;

    private SpiceCapabilitySet(uint[] words) => _words = words;

    public static SpiceCapabilitySet Empty => default;

    /// <summary>Words as they go on the wire.</summary>
    public ReadOnlySpan<uint> Words => _words;

    public int WordCount => _words?.Length ?? 0;

    public static SpiceCapabilitySet FromWords(ReadOnlySpan<uint> words) => words.IsEmpty ? default : new SpiceCapabilitySet(words.ToArray());

    public static SpiceCapabilitySet Of(params ReadOnlySpan<int> capabilities)
    {
        var set = Empty;
        foreach (var cap in capabilities)
        {
            set = set.With(cap);
        }

        return set;
    }

    public static SpiceCapabilitySet Of(params ReadOnlySpan<SpiceCommonCap> capabilities)
    {
        var set = Empty;
        foreach (var cap in capabilities)
        {
            set = set.With((int)cap);
        }

        return set;
    }

    public bool Has(int capability)
    {
        if (capability < 0)
        {
            return false;
        }

        var word = capability >> 5;
        return _words is not null && word < _words.Length && (_words[word] & (1u << (capability & 31))) != 0;
    }

    public bool Has(SpiceCommonCap capability) => Has((int)capability);

    /// <summary>A copy with the capability set, growing the word count if needed.</summary>
    public SpiceCapabilitySet With(int capability)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capability);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(capability, MaxWords * 32);
        if (Has(capability))
        {
            return this;
        }

        var word = capability >> 5;
        var words = new uint[Math.Max(WordCount, word + 1)];
        Words.CopyTo(words);
        words[word] |= 1u << (capability & 31);
        return new SpiceCapabilitySet(words);
    }

    /// <summary>A copy with the capability cleared; the word count is unchanged.</summary>
    public SpiceCapabilitySet Without(int capability)
    {
        if (!Has(capability))
        {
            return this;
        }

        var words = Words.ToArray();
        words[capability >> 5] &= ~(1u << (capability & 31));
        return new SpiceCapabilitySet(words);
    }

    /// <summary>Capabilities present in both sets (what a link negotiates).</summary>
    public SpiceCapabilitySet Intersect(SpiceCapabilitySet other)
    {
        var count = Math.Min(WordCount, other.WordCount);
        if (count == 0)
        {
            return Empty;
        }

        var words = new uint[count];
        for (var i = 0; i < count; i++)
        {
            words[i] = _words![i] & other._words![i];
        }

        return new SpiceCapabilitySet(words);
    }

    /// <summary>Same capabilities, ignoring trailing zero words.</summary>
    public bool Equals(SpiceCapabilitySet other)
    {
        var a = Words;
        var b = other.Words;
        var n = Math.Max(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var x = i < a.Length ? a[i] : 0;
            var y = i < b.Length ? b[i] : 0;
            if (x != y)
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is SpiceCapabilitySet other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        var words = Words;
        var last = words.Length - 1;
        while (last >= 0 && words[last] == 0)
        {
            last--;
        }

        for (var i = 0; i <= last; i++)
        {
            hash.Add(words[i]);
        }

        return hash.ToHashCode();
    }

    public static bool operator ==(SpiceCapabilitySet left, SpiceCapabilitySet right) => left.Equals(right);

    public static bool operator !=(SpiceCapabilitySet left, SpiceCapabilitySet right) => !left.Equals(right);

    public override string ToString() => WordCount == 0 ? "[]" : "[" + string.Join(", ", _words!.Select(w => "0x" + w.ToString("X", System.Globalization.CultureInfo.InvariantCulture))) + "]";
}
