using System.Buffers;

namespace Accel.Core.Tests.Spice;

/// <summary>Builds multi-segment sequences so parsers meet every split a socket can produce.</summary>
internal static class TestSequence
{
    /// <summary>One segment per chunk; every chunk is copied into its own array.</summary>
    public static ReadOnlySequence<byte> Create(params ReadOnlySpan<byte[]> chunks)
    {
        if (chunks.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(chunks[0].ToArray(), 0);
        var last = first;
        for (var i = 1; i < chunks.Length; i++)
        {
            last = last.Append(chunks[i].ToArray());
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Splits <paramref name="data"/> at the given cut points (ascending, may repeat to make empty segments).</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, params ReadOnlySpan<int> cuts)
    {
        var chunks = new List<byte[]>();
        var start = 0;
        foreach (var cut in cuts)
        {
            chunks.Add(data[start..cut]);
            start = cut;
        }

        chunks.Add(data[start..]);
        return Create([.. chunks]);
    }

    /// <summary>Two segments, split at every position 0..Length (both ends give an empty segment).</summary>
    public static IEnumerable<ReadOnlySequence<byte>> EveryTwoWaySplit(byte[] data)
    {
        for (var cut = 0; cut <= data.Length; cut++)
        {
            yield return Split(data, cut);
        }
    }

    /// <summary>One byte per segment.</summary>
    public static ReadOnlySequence<byte> BytePerSegment(byte[] data)
    {
        if (data.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var chunks = new byte[data.Length][];
        for (var i = 0; i < data.Length; i++)
        {
            chunks[i] = [data[i]];
        }

        return Create(chunks);
    }

    /// <summary>Random cut points chosen by <paramref name="seed"/>.</summary>
    public static ReadOnlySequence<byte> RandomSplit(byte[] data, int seed)
    {
        var rng = new Random(seed);
        var cuts = new List<int>();
        var pos = 0;
        while (pos < data.Length)
        {
            pos = Math.Min(data.Length, pos + rng.Next(0, 8));
            cuts.Add(pos);
        }

        return Split(data, [.. cuts]);
    }

    /// <summary>All the shapes a test should try for one input.</summary>
    public static IEnumerable<ReadOnlySequence<byte>> Shapes(byte[] data)
    {
        yield return new ReadOnlySequence<byte>(data);
        yield return BytePerSegment(data);
        foreach (var split in EveryTwoWaySplit(data))
        {
            yield return split;
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
