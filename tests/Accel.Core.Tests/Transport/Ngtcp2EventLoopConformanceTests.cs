using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;

namespace Accel.Core.Tests.Transport;

/// <summary>Many real connections on an engine with two event loops: two threads carry them all, and every byte arrives.</summary>
public sealed class Ngtcp2EventLoopConformanceTests : TransportConformance<Ngtcp2TwoLoopsUnderTest>
{
    [Fact]
    public async Task Connections_SixPairsOnTwoLoops_UseTwoLoopThreadsAndTransferIntact()
    {
        RequireEngine();
        var loops = ((Ngtcp2Engine)Engine).Loops.Loops;
        var prefix = loops[0].Name[..(loops[0].Name.LastIndexOf('.') + 1)];
        var pairs = new List<Pair>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                pairs.Add(await ConnectAsync());
            }

            // 12 connections (both ends), 6 per loop; each pair sends 1 MiB each way at once.
            Assert.Equal([6, 6], loops.Select(static l => l.Members));
            var transfers = pairs.SelectMany((pair, i) => new[] { TransferAsync(pair.Client, pair.Server, 2 * i), TransferAsync(pair.Server, pair.Client, (2 * i) + 1) }).ToArray();
            var during = LoopThreads(prefix);
            await Task.WhenAll(transfers).WaitAsync(Timeout, Ct);

            Assert.Equal(2, during.Count);
            Assert.Equal(2, LoopThreads(prefix).Count);
            Assert.DoesNotContain(ThreadNames(), static n => n.StartsWith("ngtcp2-conn", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var pair in pairs)
            {
                await pair.DisposeAsync();
            }
        }
    }

    private static async Task TransferAsync(ITransportConnection from, ITransportConnection to, int seed)
    {
        const long size = 1024 * 1024;
        var stream = await from.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        var reader = Task.Run(async () => await ReadHashAsync(await to.AcceptStreamAsync(Ct)), Ct);
        var sent = await WriteRandomAsync(stream, size, seed);
        var (length, hash) = await reader.WaitAsync(Timeout, Ct);
        Assert.Equal(size, length);
        Assert.Equal(sent, hash);
    }

    private static List<string> LoopThreads(string prefix) => ThreadNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList();

    /// <summary>The OS names of this process's threads (.NET names them after the managed thread, 15 characters).</summary>
    private static List<string> ThreadNames() =>
        Directory.EnumerateDirectories("/proc/self/task").Select(static t => File.ReadAllText(Path.Combine(t, "comm")).TrimEnd('\n')).ToList();
}
