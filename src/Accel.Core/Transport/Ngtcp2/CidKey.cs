namespace Accel.Core.Transport.Ngtcp2;

/// <summary>A QUIC connection ID (at most 20 bytes) as a dictionary key, without allocating.</summary>
internal readonly struct CidKey : IEquatable<CidKey>
{
    private readonly ulong _a;
    private readonly ulong _b;
    private readonly uint _c;
    private readonly byte _length;

    public unsafe CidKey(byte* data, int length)
    {
        if (length is < 0 or > 20)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        Span<byte> buffer = stackalloc byte[20];
        buffer.Clear();
        new ReadOnlySpan<byte>(data, length).CopyTo(buffer);
        _a = BitConverter.ToUInt64(buffer);
        _b = BitConverter.ToUInt64(buffer[8..]);
        _c = BitConverter.ToUInt32(buffer[16..]);
        _length = (byte)length;
    }

    public bool Equals(CidKey other) => _a == other._a && _b == other._b && _c == other._c && _length == other._length;

    public override bool Equals(object? obj) => obj is CidKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _length);
}
