namespace Accel.Core.Spice.Policies;

/// <summary>
/// Decides when the server edge may acknowledge a window of spice-server's messages (answer with ACK). The default,
/// <see cref="ImmediateAckGate"/>, answers at once. A display budget holds ACKs while the WAN already carries enough
/// display data, which paces spice-server (it stops after two unacknowledged windows), and releases them later.
/// </summary>
internal interface IAckGate
{
    /// <summary>Called once by the policy that asks; the gate calls <see cref="IAckReleaser.Release"/> when held ACKs may go.</summary>
    void Attach(IAckReleaser releaser);

    /// <summary>An ACK is due now. True: send it. False: the gate holds it and releases it later.</summary>
    bool TryPass();
}

/// <summary>The side of the ACK policy a gate wakes (from any thread).</summary>
internal interface IAckReleaser
{
    /// <summary>Sends up to <paramref name="count"/> held ACKs now.</summary>
    void Release(int count);

    /// <summary>ACKs held back so far.</summary>
    int Held { get; }
}

/// <summary>Answers every ACK at once: spice-server is paced by the edges' own legs only.</summary>
internal sealed class ImmediateAckGate : IAckGate
{
    public static ImmediateAckGate Instance { get; } = new();

    public void Attach(IAckReleaser releaser)
    {
    }

    public bool TryPass() => true;
}
