using System.Net;
using System.Net.Quic;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Accel.Core.Transport.MsQuic;

[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
internal sealed class MsQuicTransportListener : ITransportListener
{
    private readonly QuicListener _listener;
    private readonly X509Certificate2 _certificate;
    private readonly long _writeAheadBytes;
    private readonly ConditionalWeakTable<QuicConnection, MsQuicStreamCredit> _credits;
    private readonly TimeSpan _closeWait;

    public MsQuicTransportListener(QuicListener listener, X509Certificate2 certificate, long writeAheadBytes, ConditionalWeakTable<QuicConnection, MsQuicStreamCredit> credits, TimeSpan closeWait)
    {
        _listener = listener;
        _certificate = certificate;
        _writeAheadBytes = writeAheadBytes;
        _credits = credits;
        _closeWait = closeWait;
    }

    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    public async ValueTask<ITransportConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            QuicConnection connection;
            try
            {
                connection = await _listener.AcceptConnectionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (AuthenticationException)
            {
                // A peer that fails authentication never gets a connection; the accept loop goes on.
                continue;
            }
            catch (QuicException ex) when (ex.QuicError is QuicError.ConnectionTimeout or QuicError.ConnectionRefused or QuicError.TransportError)
            {
                continue;
            }
            catch (QuicException ex)
            {
                throw MsQuicErrors.Translate(ex);
            }

            // Every connection went through the options callback, which recorded its credit.
            _credits.TryGetValue(connection, out var credit);
            _credits.Remove(connection);
            return new MsQuicTransportConnection(connection, certificate: null, _writeAheadBytes, credit ?? new MsQuicStreamCredit(), _closeWait);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync().ConfigureAwait(false);
        _certificate.Dispose();
    }
}
