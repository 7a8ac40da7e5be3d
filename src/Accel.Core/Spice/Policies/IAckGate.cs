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

    /// <summary>
    /// An ACK is due now. True: send it. False: the gate holds it and releases it later. A gate that holds ACKs says
    /// true only when it holds none (so ACKs leave in order).
    /// </summary>
    bool TryPass();

    /// <summary>spice-server started a new ACK generation (SET_ACK): ACKs held for the old one are void.</summary>
    void OnNewGeneration();

    /// <summary>The channel wrote <paramref name="bytes"/> toward the client (the data the ACKs pace).</summary>
    void OnForwarded(long bytes);
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

    public void OnNewGeneration()
    {
    }

    public void OnForwarded(long bytes)
    {
    }
}
