namespace NetemLink;

/// <summary>Gilbert-Elliott two-state loss: P(good→bad)=P, P(bad→good)=R, loss probability in each state.</summary>
public sealed record GilbertElliott
{
    public double P { get; init; }
    public double R { get; init; }
    public double LossGood { get; init; }
    public double LossBad { get; init; } = 1.0;

    /// <summary>Long-run loss probability of the chain.</summary>
    public double MeanLoss => P + R <= 0 ? LossGood : ((R * LossGood) + (P * LossBad)) / (P + R);
}

/// <summary>What one direction of the emulated link does to each packet.</summary>
public sealed record DirectionParameters
{
    /// <summary>Fixed one-way propagation delay.</summary>
    public double DelayMs { get; init; }

    /// <summary>Uniform jitter: each packet gets delay + U(-jitter, +jitter), never below zero.</summary>
    public double JitterMs { get; init; }

    /// <summary>When false, jittered packets never overtake earlier ones (delivery times are made monotonic).</summary>
    public bool Reorder { get; init; }

    /// <summary>Independent random loss, 0..1.</summary>
    public double Loss { get; init; }

    /// <summary>Burst loss; used instead of <see cref="Loss"/> when set.</summary>
    public GilbertElliott? Burst { get; init; }

    /// <summary>Duplication probability, 0..1.</summary>
    public double Duplicate { get; init; }

    /// <summary>Bottleneck rate in bit/s; 0 = unlimited.</summary>
    public double RateBitsPerSecond { get; init; }

    /// <summary>Queue in front of the bottleneck, as time at line rate (tail drop beyond it).</summary>
    public double QueueMs { get; init; } = 100;

    /// <summary>Queue limit in bytes; when &gt; 0 it is used instead of <see cref="QueueMs"/>.</summary>
    public long QueueBytes { get; init; }
}
