using Microsoft.Extensions.Logging;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// The engine's fixed set of <see cref="Ngtcp2EventLoop"/>s (<c>Transport:EventLoops</c>, default one per core): a
/// connection is attached to the loop with the fewest connections when it starts and never moves.
/// </summary>
internal sealed class Ngtcp2EventLoopGroup
{
    public const int MaxLoops = 64;

    private static int s_groups;

    private readonly Ngtcp2EventLoop[] _loops;

    public Ngtcp2EventLoopGroup(int loops, ILogger logger)
    {
        if (loops is < 1 or > MaxLoops)
        {
            throw new ArgumentOutOfRangeException(nameof(loops), loops, $"The ngtcp2 engine runs 1..{MaxLoops} event loops.");
        }

        // Thread names "ngtcp2-ev<group>.<loop>" stay within Linux's 15 characters for the first thousand groups.
        var id = Interlocked.Increment(ref s_groups);
        _loops = new Ngtcp2EventLoop[loops];
        for (var i = 0; i < loops; i++)
        {
            _loops[i] = new Ngtcp2EventLoop($"ngtcp2-ev{id}.{i}", logger);
        }
    }

    /// <summary>One loop per core, within 1..<see cref="MaxLoops"/>.</summary>
    public static int DefaultLoops => Math.Clamp(Environment.ProcessorCount, 1, MaxLoops);

    public IReadOnlyList<Ngtcp2EventLoop> Loops => _loops;

    /// <summary>Attaches <paramref name="member"/> to the loop with the fewest connections (the first of equals).</summary>
    public Ngtcp2EventLoop Attach(Ngtcp2LoopMember member)
    {
        var best = _loops[0];
        for (var i = 1; i < _loops.Length; i++)
        {
            if (_loops[i].Members < best.Members)
            {
                best = _loops[i];
            }
        }

        best.Attach(member);
        return best;
    }
}
