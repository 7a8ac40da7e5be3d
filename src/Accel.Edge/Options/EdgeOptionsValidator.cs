using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Accel.Core.Relay;
using Accel.Core.Spice.Display;
using Microsoft.Extensions.Options;
using Accel.Core.Edges;

namespace Accel.Edge.Options;

public enum EdgeRole
{
    Client,
    Server,
}

/// <summary>Validates the options for one role; every message names the key that is wrong and why.</summary>
internal sealed class EdgeOptionsValidator(EdgeRole role) : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var errors = new List<string>();
        DataAnnotations(options.Transport, "Transport", errors);
        DataAnnotations(options.Server, "Server", errors);
        DataAnnotations(options.Server.Handshakes, "Server:Handshakes", errors);
        if (options.Server.Handshakes.Retry is not ("off" or "always" or "automatic"))
        {
            errors.Add($"Server:Handshakes:Retry: '{options.Server.Handshakes.Retry}' is not one of off, always, automatic");
        }
        DataAnnotations(options.Limits, "Limits", errors);

        if (options.Transport.Engine is not ("auto" or "ngtcp2" or "msquic"))
        {
            errors.Add($"Transport:Engine: '{options.Transport.Engine}' is not one of auto, ngtcp2, msquic");
        }

        if (options.Transport.CongestionControl is not ("bbr" or "cubic" or "reno"))
        {
            errors.Add($"Transport:CongestionControl: '{options.Transport.CongestionControl}' is not one of bbr, cubic, reno");
        }

        if (RequireFile(options.Identity.CertificateFile, "Identity:CertificateFile", errors)
            & RequireFile(options.Identity.KeyFile, "Identity:KeyFile", errors))
        {
            CheckIdentity(options.Identity, errors);
        }

        if (!string.IsNullOrEmpty(options.Metrics.Listen) && !Endpoints.TryParseHostPort(options.Metrics.Listen, out _, out _))
        {
            errors.Add($"Metrics:Listen: '{options.Metrics.Listen}' is not host:port (empty disables metrics)");
        }

        if (role == EdgeRole.Server)
        {
            ValidateServer(options.Server, errors);
        }
        else
        {
            ValidateClient(options.Client, errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateServer(ServerSection server, List<string> errors)
    {
        if (!Endpoints.TryParseIpEndPoint(server.Listen, out _))
        {
            errors.Add($"Server:Listen: '{server.Listen}' is not an IP address and port, e.g. 0.0.0.0:4433");
        }

        if (server.ClientPins.Count == 0 && string.IsNullOrEmpty(server.ClientCaFile))
        {
            errors.Add("Server:ClientPins: no client edge could ever authenticate; add the pin of each client edge (`spiceaccel pin --cert client.crt`) or set Server:ClientCaFile");
        }

        foreach (var (name, pin) in server.ClientPins)
        {
            if (!Pins.TryParse(pin, out _))
            {
                errors.Add($"Server:ClientPins:{name}: '{pin}' is not a base64 SHA-256 digest (44 characters)");
            }
        }

        if (!string.IsNullOrEmpty(server.ClientCaFile))
        {
            _ = RequireFile(server.ClientCaFile, "Server:ClientCaFile", errors);
        }

        if (server.AllowedBackends.Count == 0)
        {
            errors.Add("Server:AllowedBackends: empty, so every backend would be refused; add entries such as 10.0.0.0/8:5900-5999");
        }

        if (!DisplayCodecs.TryParse(server.DisplayCodec, out _))
        {
            errors.Add($"Server:DisplayCodec: '{server.DisplayCodec}' is not one of off, auto, quic, lz, glz, lz4, jpeg");
        }

        for (var i = 0; i < server.TlsBackends.Count; i++)
        {
            var t = server.TlsBackends[i];
            try
            {
                AllowList.Validate(t.Match);
            }
            catch (FormatException ex)
            {
                errors.Add($"Server:TlsBackends:{i}:Match: {ex.Message}");
            }

            if (t.Pins.Count == 0 && string.IsNullOrEmpty(t.CaFile))
            {
                errors.Add($"Server:TlsBackends:{i}: the backend's certificate cannot be checked; set CaFile or Pins");
            }

            for (var j = 0; j < t.Pins.Count; j++)
            {
                if (!Pins.TryParse(t.Pins[j], out _))
                {
                    errors.Add($"Server:TlsBackends:{i}:Pins:{j}: '{t.Pins[j]}' is not a base64 SHA-256 digest (44 characters)");
                }
            }

            if (!string.IsNullOrEmpty(t.CaFile))
            {
                _ = RequireFile(t.CaFile, $"Server:TlsBackends:{i}:CaFile", errors);
            }
        }

        var allowedOk = true;
        for (var i = 0; i < server.AllowedBackends.Count; i++)
        {
            try
            {
                AllowList.Validate(server.AllowedBackends[i]);
            }
            catch (FormatException ex)
            {
                errors.Add($"Server:AllowedBackends:{i}: {ex.Message}");
                allowedOk = false;
            }
        }

        ValidateUpstreamProxy(server, allowedOk, errors);
    }

    private static void ValidateUpstreamProxy(ServerSection server, bool allowedOk, List<string> errors)
    {
        var upstream = server.UpstreamProxy;
        for (var i = 0; i < upstream.Backends.Count; i++)
        {
            try
            {
                AllowList.Validate(upstream.Backends[i]);
            }
            catch (FormatException ex)
            {
                errors.Add($"Server:UpstreamProxy:Backends:{i}: {ex.Message}");
            }
        }

        if (string.IsNullOrEmpty(upstream.Address))
        {
            if (upstream.Backends.Count > 0)
            {
                errors.Add("Server:UpstreamProxy:Address: empty, but Server:UpstreamProxy:Backends names backends to reach through it");
            }

            return;
        }

        if (!Endpoints.TryParseIpEndPoint(upstream.Address, out var proxy))
        {
            errors.Add($"Server:UpstreamProxy:Address: '{upstream.Address}' is not an IP address and port, e.g. 127.0.0.1:3128");
        }
        else if (allowedOk && !new AllowList(server.AllowedBackends).Permits(proxy.Address, proxy.Port))
        {
            errors.Add($"Server:UpstreamProxy:Address: {upstream.Address} is not in Server:AllowedBackends; add {proxy.Address}/{(proxy.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)}:{proxy.Port} there");
        }
    }

    private static void ValidateClient(ClientSection client, List<string> errors)
    {
        if (client.ServerEdges.Count == 0)
        {
            errors.Add("Client:ServerEdges: at least one server edge is needed, e.g. \"dc1\": { \"Address\": \"edge.example:4433\", \"Pins\": [ ... ] }");
        }

        foreach (var (name, edge) in client.ServerEdges)
        {
            if (!Endpoints.TryParseHostPort(edge.Address, out _, out _))
            {
                errors.Add($"Client:ServerEdges:{name}:Address: '{edge.Address}' is not host:port");
            }

            if (edge.Pins.Count == 0 && string.IsNullOrEmpty(edge.CaFile))
            {
                errors.Add($"Client:ServerEdges:{name}:Pins: the server edge cannot be authenticated; add its pin (`spiceaccel pin --cert server.crt`) or set CaFile");
            }

            for (var i = 0; i < edge.Pins.Count; i++)
            {
                if (!Pins.TryParse(edge.Pins[i], out _))
                {
                    errors.Add($"Client:ServerEdges:{name}:Pins:{i}: '{edge.Pins[i]}' is not a base64 SHA-256 digest (44 characters)");
                }
            }

            if (!string.IsNullOrEmpty(edge.CaFile))
            {
                _ = RequireFile(edge.CaFile, $"Client:ServerEdges:{name}:CaFile", errors);
            }
        }

        if (client.Listeners.Count == 0)
        {
            errors.Add("Client:Listeners: no way in for remote-viewer; add an explicit, connect or transparent listener");
        }

        for (var i = 0; i < client.Listeners.Count; i++)
        {
            var l = client.Listeners[i];
            var key = $"Client:Listeners:{i}";
            if (!Endpoints.TryParseIpEndPoint(l.Listen, out _))
            {
                errors.Add($"{key}:Listen: '{l.Listen}' is not an IP address and port, e.g. 127.0.0.1:5900");
            }

            if (!client.ServerEdges.ContainsKey(l.ServerEdge))
            {
                errors.Add($"{key}:ServerEdge: '{l.ServerEdge}' is not a key of Client:ServerEdges");
            }

            if (l.Mode == ListenerMode.Explicit)
            {
                if (l.Backend is null || !Endpoints.TryParseHostPort(l.Backend, out _, out _))
                {
                    errors.Add($"{key}:Backend: explicit listeners need the backend as host:port, got '{l.Backend}'");
                }
            }
            else if (l.Backend is not null)
            {
                errors.Add($"{key}:Backend: only explicit listeners take a backend; {l.Mode} listeners learn it per connection");
            }
        }
    }

    private static void DataAnnotations(object section, string prefix, List<string> errors)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(section, new ValidationContext(section), results, validateAllProperties: true))
        {
            foreach (var r in results)
            {
                errors.Add($"{prefix}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}");
            }
        }
    }

    /// <summary>The file is named, exists and this process can read it (the service user, under systemd).</summary>
    private static bool RequireFile(string? path, string key, List<string> errors)
    {
        if (string.IsNullOrEmpty(path))
        {
            errors.Add($"{key}: required (run `spiceaccel keygen --out DIR` to make an identity)");
            return false;
        }

        if (!File.Exists(path))
        {
            errors.Add($"{key}: file '{path}' does not exist");
            return false;
        }

        try
        {
            using var _ = File.OpenRead(path);
            return true;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            errors.Add($"{key}: file '{path}' cannot be read by user {Environment.UserName} ({ex.Message}); keygen --owner USER or chown it to the service user");
            return false;
        }
    }

    private static void CheckIdentity(IdentitySection identity, List<string> errors)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(identity.CertificateFile), File.ReadAllText(identity.KeyFile));
        }
        catch (CryptographicException ex)
        {
            errors.Add($"Identity:KeyFile: '{identity.KeyFile}' and Identity:CertificateFile '{identity.CertificateFile}' are not a matching PEM key and certificate ({ex.Message.TrimEnd('.')})");
        }
        catch (ArgumentException ex)
        {
            var reason = ex.Message.Split(" (Parameter", 2)[0].TrimEnd('.');
            errors.Add($"Identity:KeyFile: '{identity.KeyFile}' is not the PEM key of Identity:CertificateFile '{identity.CertificateFile}' ({reason})");
        }
    }
}
