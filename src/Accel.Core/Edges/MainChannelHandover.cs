using Accel.Core.Spice.Protocol;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Edges;

/// <summary>
/// Keeps a SPICE client's "close the old session, then connect anew" in that order at the backend. A main channel
/// without a connection id makes spice-server disconnect every client it has; one that is still connected because
/// its close is still crossing the edges (its channels' ends and the new main channel travel on different streams,
/// and may be relayed in either order) is then torn down from under a live session, which spice-server handles
/// badly: it stalls, and under load Xspice 0.15 was seen to crash. So a new main channel waits, a bounded
/// <see cref="Wait"/>, for the main channels already open to the same backend to end; one that does not end by then
/// (a live client, or a session held for resume) is left to spice-server as before.
/// </summary>
internal sealed partial class MainChannelHandover(ILogger logger)
{
    /// <summary>The longest a new main channel waits for the older ones to the same backend to end.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, List<Task>> _open = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// For a main channel: waits for the main channels open to the same backend to end (at most <see cref="Wait"/>),
    /// then counts this one as open until the returned handle is disposed. Other channel types pass at once.
    /// </summary>
    public async ValueTask<Entry> EnterAsync(EdgeRequest request, CancellationToken cancellationToken)
    {
        if (request.ChannelType != (byte)SpiceChannelType.Main)
        {
            return default;
        }

        var key = request.Host + "|" + request.Port;
        Task[] older;
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_open)
        {
            if (!_open.TryGetValue(key, out var list))
            {
                _open[key] = list = [];
            }

            older = [.. list];
            list.Add(ended.Task);
        }

        var entry = new Entry(this, key, ended);
        try
        {
            if (older.Length > 0)
            {
                Waiting(logger, request.LogName, request.Port, older.Length);
                await Task.WhenAll(older).WaitAsync(Wait, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // Still open: spice-server disconnects it when this one links, as it would without the edges.
            StillOpen(logger, request.LogName, request.Port, older.Count(static t => !t.IsCompleted), Wait.TotalSeconds);
        }
        catch
        {
            entry.Dispose();
            throw;
        }

        return entry;
    }

    private void Leave(string key, TaskCompletionSource ended)
    {
        lock (_open)
        {
            if (_open.TryGetValue(key, out var list) && list.Remove(ended.Task) && list.Count == 0)
            {
                _open.Remove(key);
            }
        }

        ended.TrySetResult();
    }

    [LoggerMessage(1027, LogLevel.Debug, "New main channel to {Host}:{Port} waits for {Count} older main channel(s) to it to end")]
    private static partial void Waiting(ILogger logger, string host, int port, int count);

    [LoggerMessage(1028, LogLevel.Information, "{Count} older main channel(s) to {Host}:{Port} still open after {Seconds} s: spice-server disconnects them as the new one links")]
    private static partial void StillOpen(ILogger logger, string host, int port, int count, double seconds);

    /// <summary>A main channel counted as open (default: not a main channel, nothing to do).</summary>
    public readonly struct Entry(MainChannelHandover? owner, string? key, TaskCompletionSource? ended) : IDisposable
    {
        public void Dispose()
        {
            if (owner is not null)
            {
                owner.Leave(key!, ended!);
            }
        }
    }
}
