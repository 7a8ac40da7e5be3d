using System.Buffers;

namespace Accel.Core.Spice.Protocol.Framing;

/// <summary>
/// A message body as one span, for parsers that need it contiguous: the sequence's only segment as it is, or a copy
/// in a buffer rented from the shared pool that <see cref="Dispose"/> returns.
/// </summary>
internal ref struct ContiguousBody
{
    private byte[]? _rented;

    public ContiguousBody(in ReadOnlySequence<byte> body)
    {
        if (body.IsSingleSegment)
        {
            Span = body.FirstSpan;
            _rented = null;
            return;
        }

        _rented = ArrayPool<byte>.Shared.Rent((int)body.Length);
        body.CopyTo(_rented);
        Span = _rented.AsSpan(0, (int)body.Length);
    }

    public ReadOnlySpan<byte> Span { get; }

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
            _rented = null;
        }
    }
}
