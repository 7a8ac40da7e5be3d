using System.Collections.Concurrent;
using System.Diagnostics;
using Accel.Core.Edges;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Tests.Relay;

/// <summary>An in-process edge's log lines (event id, text, newest <see cref="Capacity"/> kept): for assertions and for failure messages.</summary>
internal sealed class RecordingLogger : ILogger<ClientEdge>, ILogger<ServerEdge>
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
