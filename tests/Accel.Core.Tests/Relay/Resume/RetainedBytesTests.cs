using Accel.Core.Relay.Resume;
using CsCheck;

namespace Accel.Core.Tests.Relay.Resume;

public sealed class RetainedBytesTests
{
    [Fact]
    public void AppendTrimAndReplay_AnySequence_ReplaysExactlyTheBytesAfterTheOffset()
    {
        Gen.Select(Gen.Int[1, 200_000].Array[1, 12], Gen.Double[0, 1].Array[12]).Sample((sizes, trims) =>
        {
            using var retained = new RetainedBytes();
            var all = new List<byte>();
            for (var i = 0; i < sizes.Length; i++)
            {
                var chunk = new byte[sizes[i]];
                for (var j = 0; j < chunk.Length; j++)
                {
                    chunk[j] = (byte)((all.Count + j) * 31 % 251);
                }

                retained.Append(chunk);
                all.AddRange(chunk);
                retained.TrimTo(retained.Start + (long)(retained.Length * trims[i] / 2));
            }

            var from = retained.Start + (retained.Length / 3);
            var replay = retained.From(from).SelectMany(m => m.ToArray()).ToArray();
            Assert.Equal(all.Count, retained.End);
            Assert.Equal(all.Skip((int)from).ToArray(), replay);
        }, iter: 50);
    }

    [Fact]
    public void From_BeforeTheTrimmedStart_IsRefused()
    {
        using var retained = new RetainedBytes();
        retained.Append(new byte[100_000]);
        retained.TrimTo(70_000);

        Assert.Throws<ArgumentOutOfRangeException>(() => retained.From(69_999).ToList());
        Assert.Equal(30_000, retained.From(70_000).Sum(m => m.Length));
    }
}
