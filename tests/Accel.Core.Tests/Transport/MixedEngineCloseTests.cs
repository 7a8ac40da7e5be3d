using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// A graceful close between the two engines (an edge pair may mix them): whichever engine closes, the other end's
/// application reads everything written before the close. System.Net.Quic discards what its reader has not taken when
/// the connection closes, so the closing engine waits until the peer granted its stream back (docs/msquic.md). Runs
/// where libmsquic is found, like the MsQuic conformance suite.
/// </summary>
public sealed class MixedEngineCloseTests : TransportConformance<MsQuicUnderTest>
{
    [Theory]
    [InlineData("ngtcp2", "msquic")]
    [InlineData("msquic", "ngtcp2")]
    public async Task CloseAsync_AfterLargeWrite_ThePeerOnTheOtherEngineReadsEverything(string closing, string reading)
    {
        RequireEngine();
        ITransportEngine EngineNamed(string name) => name == "msquic" ? Engine : new Ngtcp2Engine();

        await using var listener = await EngineNamed(reading).ListenAsync(ServerOptions(), Ct).AsTask().WaitAsync(Timeout, Ct);
        var accept = listener.AcceptAsync(Ct).AsTask();
        await using var client = await EngineNamed(closing).ConnectAsync(ClientOptions(listener), Ct).AsTask().WaitAsync(Timeout, Ct);
        await using var server = await accept.WaitAsync(Timeout, Ct);

        await CloseAfterLargeWriteAsync(client, server, 17);
    }
}
