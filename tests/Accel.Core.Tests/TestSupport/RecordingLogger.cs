using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Tests.TestSupport;

/// <summary>Keeps the log's entries (event id, formatted message, time; the newest <see cref="Capacity"/>) for a test to wait for and inspect.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    public const int Capacity = 4096;

    public ConcurrentQueue<(int Id, string Message, DateTime At)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        Entries.Enqueue((eventId.Id, formatter(state, exception), DateTime.UtcNow));
        while (Entries.Count > Capacity && Entries.TryDequeue(out _))
        {
        }
    }

    public int Count(int id) => Entries.Count(e => e.Id == id);

    public async Task<string> WaitForAsync(Func<(int Id, string Message, DateTime At), bool> match, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            foreach (var e in Entries)
            {
                if (match(e))
                {
                    return e.Message;
                }
            }

            Assert.True(sw.Elapsed < timeout, "no such log line: " + string.Join(" | ", Entries.Select(static e => e.Id + " " + e.Message)));
            await Task.Delay(50, TestContext.Current.CancellationToken); // polling the log, bounded
        }
    }
}

/// <summary>Bounded polling of a condition that real processes make true (xev output, counters, log lines).</summary>
internal static class Eventually
{
    /// <summary>Waits until <paramref name="done"/> holds (checked every 50 ms), failing with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(Func<bool> done, TimeSpan timeout, Func<string> what)
    {
        var sw = Stopwatch.StartNew();
        while (!done())
        {
            Assert.True(sw.Elapsed < timeout, what());
            await Task.Delay(50, TestContext.Current.CancellationToken); // polling, bounded by the timeout
        }
    }
}
