using System.CommandLine;
using Accel.Edge.Hosting;
using Accel.Edge.Options;

namespace Accel.Edge.Commands;

/// <summary>
/// spiceaccel vv IN.vv &gt; OUT.vv: points a downloaded virt-viewer file (Proxmox VE, oVirt, libvirt consoles) at the
/// client edge's HTTP CONNECT listener, so remote-viewer goes through the edges.
/// </summary>
internal static class VvCommand
{
    private const string DefaultClientConfig = "/etc/spiceaccel/client.json";

    public static Command Create()
    {
        var input = new Argument<string>("IN.vv") { Description = "the .vv file as downloaded (- for standard input)" };
        var proxy = new Option<string?>("--proxy") { Description = "the client edge's CONNECT listener, e.g. http://127.0.0.1:3128", HelpName = "URL" };
        var config = Cli.ConfigOption(required: false);
        config.Description = $"take the first Connect listener of this client configuration (default {DefaultClientConfig})";
        var command = new Command("vv", """
            rewrite a .vv file (Proxmox VE, oVirt) to go through the client edge

            Writes the file to standard output with proxy= set to the client edge's HTTP CONNECT listener (the original
            proxy= is kept as a comment). Everything else (host, ports, ticket, CA) is left as it is.
            Example: spiceaccel vv ~/Downloads/pve-spice.vv > /tmp/edge.vv && remote-viewer /tmp/edge.vv
            """)
        {
            input, proxy, config,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var url = result.GetValue(proxy) ?? ProxyFromConfig(result.GetValue(config) ?? DefaultClientConfig);
            var path = result.GetRequiredValue(input);
            string text;
            try
            {
                text = path == "-"
                    ? await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false)
                    : await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return Program.Fail($"cannot read '{path}': {ex.Message}", Program.ExitOsError);
            }

            if (!VvFile.TryRewrite(text, url, out var rewritten, out var error))
            {
                return Program.Fail($"{path}: {error}", 65);
            }

            await Console.Out.WriteAsync(rewritten).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static string ProxyFromConfig(string file)
    {
        if (!EdgeConfiguration.TryReadJson(file, out var configuration, out var error))
        {
            throw new UsageException($"give --proxy URL, or --config with a client configuration ({error})");
        }

        foreach (var listener in configuration.GetSection("Client:Listeners").GetChildren())
        {
            if (string.Equals(listener["Mode"], nameof(ListenerMode.Connect), StringComparison.OrdinalIgnoreCase)
                && Endpoints.TryParseHostPort(listener["Listen"], out var host, out var port))
            {
                return Endpoints.LocalUrl(host, port);
            }
        }

        throw new UsageException($"{file} has no Connect listener; add one or give --proxy URL");
    }
}

/// <summary>The .vv rewrite itself: a GKeyFile with a [virt-viewer] group; only its proxy= key changes.</summary>
internal static class VvFile
{
    private const string Group = "[virt-viewer]";

    public static bool TryRewrite(string text, string proxyUrl, out string rewritten, out string? error)
    {
        rewritten = string.Empty;
        error = null;
        if (!Uri.TryCreate(proxyUrl, UriKind.Absolute, out var proxy) || proxy.Scheme != "http")
        {
            error = $"the proxy '{proxyUrl}' is not an http:// URL";
            return false;
        }

        var newline = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var lines = text.Split('\n').Select(static l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        var start = lines.FindIndex(static l => l.Trim() == Group);
        if (start < 0)
        {
            error = "no [virt-viewer] group: not a virt-viewer connection file";
            return false;
        }

        var end = lines.FindIndex(start + 1, static l => l.TrimStart().StartsWith('['));
        end = end < 0 ? lines.Count : end;
        if (!lines.Skip(start + 1).Take(end - start - 1).Any(static l => KeyOf(l) is "type" or "host"))
        {
            error = "the [virt-viewer] group has neither type= nor host=";
            return false;
        }

        var value = proxy.GetLeftPart(UriPartial.Authority);
        var proxyLine = lines.FindIndex(start + 1, end - start - 1, static l => KeyOf(l) == "proxy");
        if (proxyLine >= 0)
        {
            var original = lines[proxyLine].Trim();
            lines[proxyLine] = "proxy=" + value;
            lines.Insert(proxyLine, "# spiceaccel: was " + original);
        }
        else
        {
            lines.Insert(start + 1, "proxy=" + value);
        }

        rewritten = string.Join(newline, lines) + newline;
        return true;
    }

    private static string? KeyOf(string line)
    {
        var t = line.TrimStart();
        if (t.Length == 0 || t[0] is '#' or ';')
        {
            return null;
        }

        var eq = t.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 ? t[..eq].Trim() : null;
    }
}
