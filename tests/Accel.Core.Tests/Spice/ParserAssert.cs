using System.Buffers;

namespace Accel.Core.Tests.Spice;

/// <summary>A parser in the house shape: TryParse(ref buffer, out value).</summary>
internal delegate bool TryParseFunc<T>(ref ReadOnlySequence<byte> buffer, out T value);

internal static class ParserAssert
{
    /// <summary>
    /// For every shape of <paramref name="message"/> followed by <paramref name="trailer"/>: the parser succeeds,
    /// consumes exactly the message, and <paramref name="check"/> holds. For every shorter prefix (also one byte per
    /// segment) it returns false and consumes nothing.
    /// </summary>
    public static void ParsesAtEverySplit<T>(byte[] message, TryParseFunc<T> parse, Action<T> check, int trailer = 3)
    {
        var withTrailer = message.Concat(Enumerable.Repeat((byte)0xEE, trailer)).ToArray();
        foreach (var shape in TestSequence.Shapes(withTrailer))
        {
            var buffer = shape;
            Assert.True(parse(ref buffer, out var value), $"parse failed on a {shape.Length}-byte input");
            Assert.Equal(trailer, buffer.Length);
            check(value);
        }

        for (var length = 0; length < message.Length; length++)
        {
            var prefix = message[..length];
            foreach (var shape in new[] { new ReadOnlySequence<byte>(prefix), TestSequence.BytePerSegment(prefix) })
            {
                var buffer = shape;
                Assert.False(parse(ref buffer, out _), $"parse succeeded on a {length}-byte prefix");
                Assert.Equal(shape.Length, buffer.Length);
            }
        }
    }

    public static byte[] Bytes(Action<ArrayBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return writer.WrittenSpan.ToArray();
    }

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
}
