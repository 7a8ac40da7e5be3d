using System.Buffers;
using Accel.Core.Edges;
using Accel.Core.Relay.Compression;
using Accel.Edge.Listeners;
using Accel.Edge.Options;
using Microsoft.Extensions.Configuration;

namespace Accel.Fuzz.Targets;

/// <summary>What the edges read before any SPICE: the HTTP CONNECT head, the edge request and its answer, and the configuration.</summary>
internal static class EdgeTargets
{
    private static readonly EdgeOptionsValidator s_server = new(EdgeRole.Server);
    private static readonly EdgeOptionsValidator s_client = new(EdgeRole.Client);

    public static IEnumerable<FuzzTarget> All =>
    [
        new("connect-head", "ConnectProxyListener.TryParseConnect of an HTTP request head (false with a problem on bad input)", ConnectHead, ConnectSeeds),
        new("edge-request", "EdgeRequest.TryParse of a stream's first bytes (false with an error), then TryParseResponse", EdgeRequestParse, EdgeRequestSeeds),
        new("wan-blocks", "WanCodec blocks of a compressed channel, decoded in order by one codec (InvalidDataException on bad data)", WanBlocks, WanBlockSeeds),
        new("config", "the configuration binder: JSON, ConfigurationKeys.Check, Bind to EdgeOptions, both roles' validators", Config, ConfigSeeds),
    ];

    private static void ConnectHead(ReadOnlySpan<byte> input)
    {
        if (ConnectProxyListener.TryParseConnect(input, out var request, out var problem))
        {
            // What the listener does next with a parsed request.
            if (request.Host.Length == 0 || EdgeRequest.IsValidOpaqueTarget(request.Host) == false && request.IsOpaqueTarget)
            {
                throw new InvalidOperationException("a CONNECT target was accepted that an edge request cannot carry");
            }

            Span<byte> wire = stackalloc byte[EdgeRequest.MaxLength];
            request.Write(wire);
            _ = request.LogName;
        }
        else if (string.IsNullOrEmpty(problem))
        {
            throw new InvalidOperationException("a rejected CONNECT head has no problem to report");
        }
    }

    private static readonly byte[] s_block = new byte[WanCodec.BlockSize];

    private static void WanBlocks(ReadOnlySpan<byte> input)
    {
        using var codec = new WanCodec(compress: false, 1);
        try
        {
            while (input.Length >= WanCodec.HeaderLength)
            {
                if (!WanCodec.TryReadHeader(input, out byte kind, out int length) || input.Length < WanCodec.HeaderLength + length)
                {
                    return; // what WanCompressedStream refuses (bad header) or waits for (a block not whole yet)
                }

                int n = codec.Decode(kind, input.Slice(WanCodec.HeaderLength, length), s_block);
                if (n < 0 || n > WanCodec.BlockSize)
                {
                    throw new InvalidOperationException($"a block decoded to {n} bytes");
                }

                input = input[(WanCodec.HeaderLength + length)..];
            }
        }
        catch (InvalidDataException)
        {
        }
    }

    /// <summary>What a client edge writes for agent-like text and for random bytes, past the stored start.</summary>
    private static IEnumerable<byte[]> WanBlockSeeds()
    {
        var text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(static i => $"clipboard line {i}: the quick brown fox {i * 31 % 97}\n")));
        var random = new byte[3000];
        new Random(7).NextBytes(random);
        foreach (var parts in new[] { new[] { text[..20_000], text[20_000..26_000] }, new[] { text[..17_000], random, text[17_000..19_000] }, new[] { text[..100] } })
        {
            using var codec = new WanCodec(compress: true, 1);
            var wire = new MemoryStream();
            foreach (var part in parts)
            {
                var buffer = new byte[WanCodec.MaxEncodedLength(part.Length)];
                wire.Write(buffer, 0, codec.Encode(part, buffer));
            }

            yield return wire.ToArray();
        }
    }

    private static void EdgeRequestParse(ReadOnlySpan<byte> input)
    {
        var buffer = FuzzInput.Segments(input, input.Length > 0 ? input[^1] : (byte)0);
        if (EdgeRequest.TryParse(buffer, out var request, out int consumed, out _))
        {
            // A request the server edge accepted is one the client edge could have written: the same bytes back.
            Span<byte> wire = stackalloc byte[EdgeRequest.MaxLength];
            int n = request.Write(wire);
            if (n != consumed || !wire[..n].SequenceEqual(input[..consumed]))
            {
                throw new InvalidOperationException("an accepted edge request does not write back to its own bytes");
            }

            _ = request.LogName;
        }

        EdgeRequest.TryParseResponse(input, out _, out _, out _);
    }

    private static void Config(ReadOnlySpan<byte> input)
    {
        IConfiguration configuration;
        try
        {
            configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(input.ToArray())).Build();
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            // Malformed JSON and duplicate keys. The file provider the edge uses wraps the JSON reader's exception in
            // InvalidDataException, which EdgeConfiguration reports with the file name; this stream provider does not wrap.
            return;
        }

        if (ConfigurationKeys.Check(configuration).Count > 0)
        {
            return;
        }

        // Checked keys and values must bind without the binder's own exceptions.
        var options = new EdgeOptions();
        configuration.Bind(options);
        s_server.Validate(null, options);
        s_client.Validate(null, options);
    }

    private static IEnumerable<byte[]> ConnectSeeds() =>
    [
        "CONNECT 10.0.0.5:5900 HTTP/1.1\r\nHost: 10.0.0.5:5900\r\n"u8.ToArray(),
        "CONNECT [fe80::1]:61000 HTTP/1.0\r\n"u8.ToArray(),
        "CONNECT pvespiceproxy:6564e2f1:101:node1::0ab1c2:61000 HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n"u8.ToArray(),
        "GET / HTTP/1.1\r\n"u8.ToArray(),
    ];

    private static IEnumerable<byte[]> EdgeRequestSeeds()
    {
        EdgeRequest[] requests =
        [
            new("spice.example", 5900, 2, 2),
            EdgeRequest.ForOpaqueTarget("pvespiceproxy:abc:61000", 1, 1) with { },
            new EdgeRequest("10.1.2.3", 5901, 3, 4, EdgeRequest.ResumableFlag | EdgeRequest.PreviewsFlag) { Token = new byte[EdgeRequest.TokenLength] },
            new EdgeRequest("10.1.2.3", 5901, 3, 4, EdgeRequest.ResumeFlag) { Token = new byte[EdgeRequest.TokenLength], ResumeOffset = 12345 },
        ];
        foreach (var request in requests)
        {
            var wire = new byte[EdgeRequest.MaxLength];
            yield return wire[..request.Write(wire)];
        }

        var answer = new byte[EdgeRequest.MaxResponseLength];
        yield return answer[..EdgeRequest.WriteResponse(answer, EdgeStatus.NotAllowed, "not in the allow-list")];
    }

    private static IEnumerable<byte[]> ConfigSeeds()
    {
        var root = Path.GetDirectoryName(typeof(EdgeTargets).Assembly.Location)!;
        foreach (var file in new[] { "server.example.json", "client.example.json" })
        {
            var path = Path.Combine(root, "config-seeds", file);
            if (File.Exists(path))
            {
                yield return File.ReadAllBytes(path);
            }
        }

        yield return """{"Limits":{"MaxChannelsPerConnection":"64","StallTimeout":"00:00:20"},"Server":{"DisplayCodec":"auto"}}"""u8.ToArray();
        yield return """{"Client":{"Listeners":[{"Mode":"connect","Listen":"127.0.0.1:3128"}],"ServerEdges":["192.0.2.1:4433"]}}"""u8.ToArray();
    }
}
