using System.Buffers;
using Accel.Core.Tests.Spice;

namespace Accel.Fuzz;

/// <summary>Runs one input through a parser. Returns normally for any documented outcome; anything thrown is a crash.</summary>
internal delegate void FuzzAction(ReadOnlySpan<byte> input);

/// <summary>
/// One fuzz target: a parser or decoder fed raw bytes. <see cref="Run"/> catches only the parser's documented "invalid
/// data" result (a <c>SpiceProtocolException</c>, an <c>OperationStatus</c>, a false return with an error); every other
/// exception escapes and afl-fuzz records it as a crash. <see cref="Seeds"/> are valid inputs made by the product's own
/// writers and encoders, the starting corpus committed under <c>tests/Fuzz/corpus/NAME</c>.
/// </summary>
internal sealed record FuzzTarget(string Name, string What, FuzzAction Run, Func<IEnumerable<byte[]>> Seeds);

/// <summary>Helpers shared by the targets.</summary>
internal static class FuzzInput
{
    /// <summary>
    /// The input as a sequence of up to three segments, split where <paramref name="split"/> says (the parsers must
    /// give the same answer for any split, and multi-segment paths get coverage too).
    /// </summary>
    public static ReadOnlySequence<byte> Segments(ReadOnlySpan<byte> input, byte split)
    {
        if (input.Length < 2 || (split & 3) == 0)
        {
            return new ReadOnlySequence<byte>(input.ToArray());
        }

        int first = 1 + (split * 7 % (input.Length - 1));
        int second = first + ((input.Length - first) * ((split >> 2) & 3) / 4);
        return TestSequence.Split(input.ToArray(), first, second);
    }

    /// <summary>Reads a little-endian u16 from the front of <paramref name="input"/> and advances it (0 when short).</summary>
    public static ushort TakeU16(ref ReadOnlySpan<byte> input)
    {
        if (input.Length < 2)
        {
            input = default;
            return 0;
        }

        var value = (ushort)(input[0] | (input[1] << 8));
        input = input[2..];
        return value;
    }

    /// <summary>Reads one byte from the front of <paramref name="input"/> and advances it (0 when empty).</summary>
    public static byte TakeU8(ref ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return 0;
        }

        var value = input[0];
        input = input[1..];
        return value;
    }
}
