using System.Net;
using System.Net.Sockets;
using Accel.Core.Diagnostics;
using Accel.Core.Transport.Tls;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Edges;

/// <summary>The server edge's TLS toward backends on a TLS port (<see cref="ServerEdgeSettings.TlsBackends"/>).</summary>
internal static class BackendTls
{
    /// <summary>The first TLS backend entry that matches <paramref name="target"/>, or null (plain TCP).</summary>
    public static TlsBackend? Find(IReadOnlyList<TlsBackend> backends, IPEndPoint target)
    {
        foreach (var b in backends)
        {
            if (b.Match.Permits(target.Address, target.Port))
            {
                return b;
            }
        }

        return null;
    }

    /// <summary>TLS handshake with the backend; null (logged) when it fails or the certificate is not trusted.</summary>
    public static async Task<System.Net.Security.SslStream?> ConnectAsync(Socket socket, TlsBackend backend, EdgeRequest request, TimeSpan connectTimeout, ILogger logger, CancellationToken cancellationToken)
    {
        var validator = new PeerValidator(backend.Trust);
        var tls = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false, validator.Validate);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(connectTimeout);
        try
        {
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = backend.ServerName ?? request.Host,
                EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
            }, timeout.Token).ConfigureAwait(false);
            return tls;
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException)
        {
            EdgeLog.BackendTlsFailed(logger, request.Host, request.Port, ex.Message);
            AccelMetrics.Refusals.Add(1, AccelMetrics.Tags("reason", "backend_tls"));
            await tls.DisposeAsync().ConfigureAwait(false);
            return null;
        }
    }
}
