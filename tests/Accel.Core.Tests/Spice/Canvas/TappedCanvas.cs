using System.Globalization;
using System.Runtime.InteropServices;
using Accel.Core.Spice;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Protocol;
using Accel.Core.Tests.Relay;

namespace Accel.Core.Tests.Spice.Canvas;

/// <summary>
/// A <see cref="DisplayCanvas"/> fed by a <see cref="LinkAwareProxy"/>'s tap with every display message of the session
/// (both directions), under a lock the test shares when it reads the canvas. A canvas error is kept, not thrown into
/// the proxy's pump.
/// </summary>
internal sealed class TappedCanvas : IDisposable
{
    private readonly object _gate = new();
    private readonly DisplayCanvas _canvas = new();
    private Exception? _error;

    public TappedCanvas(LinkAwareProxy proxy)
    {
        proxy.Tap = (record, fromServer, message) =>
        {
            if (record.Link.ServerLegSession!.ChannelType != SpiceChannelType.Display)
            {
                return;
            }

            lock (_gate)
            {
                try
                {
                    if (fromServer)
                    {
                        _canvas.Apply(message.Type, message.Body);
                    }
                    else
                    {
                        _canvas.ApplyClientMessage(message.Type, message.Body);
                    }
                }
                catch (SpiceProtocolException ex)
                {
                    _error ??= ex;
                }
            }
        };
    }

    public Exception? Error => Read(_ => _error);

    public T Read<T>(Func<DisplayCanvas, T> read)
    {
        lock (_gate)
        {
            return read(_canvas);
        }
    }

    public uint? PixelAt(int x, int y) => Read(c =>
        c.PrimaryId is { } id && c.TryGetSurface(id, out var s) ? MemoryMarshal.Cast<byte, uint>(s.Row(y))[x] & 0xFFFFFF : (uint?)null);

    /// <summary>What the session carried: message types and image types with their counts, streams and unsupported draws.</summary>
    public string Summary() => Read(c =>
    {
        var images = new List<string>();
        var counts = c.Images.TypeCounts;
        for (int t = 0; t < counts.Length; t++)
        {
            if (counts[t] != 0)
            {
                images.Add(string.Create(CultureInfo.InvariantCulture, $"{(global::Spice.Codecs.SpiceImageType)t}×{counts[t]}"));
            }
        }

        return "messages: " + string.Join(", ", c.Applied.OrderBy(p => p.Key).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}×{p.Value}")))
            + "\nimages: " + string.Join(", ", images)
            + string.Create(CultureInfo.InvariantCulture, $"\nsurfaces {c.SurfaceCount}, cached images {c.Images.CachedImages}, streams alive {c.StreamCount}, unsupported {c.Unsupported}");
    });

    /// <summary>Pixels of the primary surface that differ from spice-gtk's screenshot (0 = pixel-exact).</summary>
    public int CompareWith(Screenshots.Image shot, out string first)
    {
        lock (_gate)
        {
            Assert.True(_canvas.TryGetSurface(_canvas.PrimaryId!.Value, out var primary));
            Assert.Equal(shot.Width, primary.Width);
            Assert.Equal(shot.Height, primary.Height);
            return CanvasXspiceTests.CountDifferences(primary, shot, out first);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _canvas.Dispose();
        }
    }
}
