using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.Commands;

/// <summary>The CLI as an operator meets it: versions, usage errors and configuration errors, through the real binary.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir;
    private readonly string _clientPin;

    public CliTests()
    {
        _dir = Directory.CreateTempSubdirectory("sa-cli-").FullName;
        File.SetUnixFileMode(_dir, (UnixFileMode)0x1ED);
        var (cert, key) = Accel.Edge.Commands.KeygenCommand.Create("server", 2);
        File.WriteAllText(Path.Combine(_dir, "server.crt"), cert);
        File.WriteAllText(Path.Combine(_dir, "server.key"), key);
        File.SetUnixFileMode(Path.Combine(_dir, "server.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var (clientCert, clientKey) = Accel.Edge.Commands.KeygenCommand.Create("client", 2);
        File.WriteAllText(Path.Combine(_dir, "client.crt"), clientCert);
        File.WriteAllText(Path.Combine(_dir, "client.key"), clientKey);
        _clientPin = Accel.Edge.Commands.PinCommand.PinOf(clientCert);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Version_PrintsVersionWithTheCommit()
    {
        var r = await CliProcess.RunAsync(["--version"]);

        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+\+[0-9a-f]{7,40}\s*$", r.Out);
    }

    /// <summary>The script `completion bash` prints, sourced in a real bash, completes verbs and a verb's options by asking the CLI.</summary>
    [Fact]
    public async Task CompletionBash_InBash_CompletesVerbsAndOptions()
    {
        var r = await CliProcess.RunAsync(["completion", "bash"]);
        Assert.Equal(0, r.ExitCode);
        var script = Path.Combine(_dir, "spiceaccel.bash");
        File.WriteAllText(script, r.Out);
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        var exe = Path.Combine(bin, "spiceaccel");
        File.WriteAllText(exe, $"#!/bin/sh\nexec dotnet '{EdgeProcess.DllPath}' \"$@\"\n");
        File.SetUnixFileMode(exe, (UnixFileMode)0x1ED); // 0755

        // COMPREPLY for a line typed up to its end; the last word is the one completed.
        async Task<string[]> CompleteAsync(string line)
        {
            var words = line.Split(' ');
            var program = $"source '{script}'; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({string.Join(' ', words.Select(w => $"'{w}'"))}); "
                + $"COMP_CWORD={words.Length - 1}; _spiceaccel_complete; printf '%s\\n' \"${{COMPREPLY[@]}}\"";
            var output = await Shell.RunAsync("bash", ["-c", program], TimeSpan.FromSeconds(60), env: new Dictionary<string, string> { ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH") });
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        Assert.Equal(["server"], await CompleteAsync("spiceaccel ser"));
        Assert.Equal(["status"], await CompleteAsync("spiceaccel sta"));
        Assert.Contains("--config", await CompleteAsync("spiceaccel server --c"));
        Assert.Contains("keygen", await CompleteAsync("spiceaccel "));
        Assert.Equal(2, (await CliProcess.RunAsync(["completion", "zsh"])).ExitCode);
    }

    [Fact]
    public async Task Version_NamesTheLibmsquicItLoaded_OrWhyNone()
    {
        var r = await CliProcess.RunAsync(["version"]);

        Assert.Equal(0, r.ExitCode);
        var line = r.Out.Split('\n').Single(l => l.Contains("engine msquic:", StringComparison.Ordinal));
        if (Environment.GetEnvironmentVariable("SPICEACCEL_MSQUIC_DIR") is { Length: > 0 } dir)
        {
            // A libmsquic built from source (docs/msquic.md): its version, asked from the library, and its file.
            Assert.Matches(@"libmsquic 2\.\d+\.\d+ at \S+/libmsquic\.so\.2", line);
            Assert.Contains(Path.GetFullPath(dir).TrimEnd('/') + "/", line, StringComparison.Ordinal);
        }
        else
        {
            Assert.Matches(@"libmsquic 2\.\d+\.\d+ at /|unavailable \(.*libmsquic", line);
        }

        var missing = await CliProcess.RunAsync(["version"], env: new Dictionary<string, string> { ["SPICEACCEL_MSQUIC_DIR"] = "/nonexistent-msquic" });
        Assert.Equal(0, missing.ExitCode);
        Assert.Contains("engine msquic: unavailable (SPICEACCEL_MSQUIC_DIR=/nonexistent-msquic, but /nonexistent-msquic/libmsquic.so.2 does not exist)", missing.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_MsQuicDirInTheEnvironment_IsNotTakenForAnUnknownKey()
    {
        var file = WriteConfig("ok.json", ServerConfig());

        var r = await CliProcess.RunAsync(["check", "--config", file], env: new Dictionary<string, string> { ["SPICEACCEL_MSQUIC_DIR"] = "/nonexistent-msquic" });

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.DoesNotContain("MSQUIC_DIR", r.Out + r.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("keygen", "--out", "x", "--bogus")]
    [InlineData("server", "--config", "x.json", "--verbose")]
    [InlineData("frobnicate")]
    public async Task UnknownOptionOrVerb_ExitsTwoNamingIt(params string[] args)
    {
        var r = await CliProcess.RunAsync(args);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains(args[^1], r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_ValidNamedPins_ExitsZeroAndNamesTheClients()
    {
        var file = WriteConfig("ok.json", ServerConfig());

        var r = await CliProcess.RunAsync(["check", "--config", file]);

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("client edges: branch1", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_MalformedJson_OneLineWithThePosition()
    {
        var file = WriteConfig("bad.json", "{\n  \"Server\": { \"Listen\": \"0.0.0.0:4433\" \n  \"Metrics\": {} }\n");

        var r = await CliProcess.RunAsync(["check", "--config", file]);

        Assert.Equal(78, r.ExitCode);
        var line = Assert.Single(r.ErrorLines);
        Assert.Matches(@"bad\.json: malformed JSON at line 3, column \d+", line);
    }

    [Fact]
    public async Task Check_TyposAndWrongTypes_EachNamesItsKey()
    {
        // An empty value for a number (found by the config fuzz target: the binder threw instead of a clean exit 78).
        var config = ServerConfig().Replace("\"Transport\":{", "\"Limits\":{ \"MaxChannelsPerConnection\": \"\" }, \"Transport\":{ \"IdleTimout\": \"00:00:30\", \"HandshakeTimeout\": \"soon\", \"StreamReceiveWindow\": [1],", StringComparison.Ordinal);
        var file = WriteConfig("typos.json", config);

        var r = await CliProcess.RunAsync(["check", "--config", file]);

        Assert.Equal(78, r.ExitCode);
        Assert.Contains("Transport:IdleTimout: unknown key; did you mean Transport:IdleTimeout?", r.ErrorLines);
        Assert.Contains(r.ErrorLines, l => l.StartsWith("Transport:HandshakeTimeout: 'soon' is not a duration", StringComparison.Ordinal));
        Assert.Contains(r.ErrorLines, l => l.StartsWith("Transport:StreamReceiveWindow: expects a whole number, not a section", StringComparison.Ordinal));
        Assert.Contains(r.ErrorLines, l => l.StartsWith("Limits:MaxChannelsPerConnection: '' is not a whole number", StringComparison.Ordinal));
        Assert.Equal(4, r.ErrorLines.Length);
    }

    [Fact]
    public async Task Check_LimitsOutOfRangeAndTypos_EachNamesItsKey()
    {
        var config = ServerConfig().Replace("\"Transport\":{", "\"Limits\":{ \"StallTimeout\": \"00:00:00\", \"MaxChannelsPerSession\": 0, \"LinkTimout\": \"00:00:05\" }, \"Transport\":{", StringComparison.Ordinal);
        var file = WriteConfig("limits.json", config);

        var r = await CliProcess.RunAsync(["check", "--config", file]);

        Assert.Equal(78, r.ExitCode);
        Assert.Contains("Limits:LinkTimout: unknown key; did you mean Limits:LinkTimeout?", r.ErrorLines);

        var fixedTypo = WriteConfig("limits2.json", config.Replace("LinkTimout", "LinkTimeout", StringComparison.Ordinal));
        r = await CliProcess.RunAsync(["check", "--config", fixedTypo]);
        Assert.Equal(78, r.ExitCode);
        Assert.Contains(r.ErrorLines, l => l.StartsWith("Limits:StallTimeout:", StringComparison.Ordinal));
        Assert.Contains(r.ErrorLines, l => l.StartsWith("Limits:MaxChannelsPerSession:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_KeyUnreadableByTheServiceUser_NamesIdentityKeyFile()
    {
        var file = WriteConfig("perm.json", ServerConfig());

        var r = await CliProcess.RunAsync(["check", "--config", file], user: "nobody");

        Assert.True(r.ExitCode == 78, r.Error);
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("Identity:KeyFile: file '" + Path.Combine(_dir, "server.key") + "' cannot be read by user nobody", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("server.example.json", "Server:ClientPins:branch1:")]
    [InlineData("client.example.json", "Client:ServerEdges:dc1:Pins:0:")]
    public async Task Check_ShippedExamples_OnlyThePlaceholdersAndTheMissingKeysAreWrong(string example, string placeholder)
    {
        var r = await CliProcess.RunAsync(["check", "--config", Path.Combine(Repo.Root, "systemd", example)]);

        Assert.Equal(78, r.ExitCode);
        Assert.Contains(r.ErrorLines, l => l.StartsWith(placeholder, StringComparison.Ordinal));
        Assert.All(r.ErrorLines, l => Assert.True(l.StartsWith(placeholder, StringComparison.Ordinal) || l.StartsWith("Identity:", StringComparison.Ordinal), l));
    }

    [Fact]
    public async Task Server_KeyOfAnotherCertificate_Exits78NamingIdentityKeyFile()
    {
        var file = WriteConfig("mismatch.json", ServerConfig().Replace("server.key", "client.key", StringComparison.Ordinal));

        var r = await CliProcess.RunAsync(["server", "--config", file]);

        Assert.Equal(78, r.ExitCode);
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith("spiceaccel server: Identity:KeyFile: '", line, StringComparison.Ordinal);
        Assert.Contains("is not the PEM key of Identity:CertificateFile", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_QuicPortInUse_Exits71WithOneLine()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var file = WriteConfig("inuse.json", ServerConfig(listen: $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));

        var r = await CliProcess.RunAsync(["server", "--config", file]);

        Assert.Equal(71, r.ExitCode);
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith($"spiceaccel server: Server:Listen: cannot listen on udp 127.0.0.1:{port}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_MetricsPortInUse_Exits71WithOneLine()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var file = WriteConfig("metrics.json", ServerConfig(metrics: $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));

        var r = await CliProcess.RunAsync(["server", "--config", file]);

        Assert.Equal(71, r.ExitCode);
        var line = Assert.Single(r.ErrorLines);
        Assert.StartsWith($"spiceaccel server: Metrics:Listen: cannot serve on 127.0.0.1:{port}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keygen_Owner_GivesBothFilesToThatUserAndTheKeyMode0600()
    {
        var dir = Path.Combine(_dir, "keys");

        var r = await CliProcess.RunAsync(["keygen", "--out", dir, "--name", "edge", "--owner", "nobody"]);

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("owner:       nobody", r.Out, StringComparison.Ordinal);
        var stat = await Shell.RunAsync("stat", ["-c", "%U %a %n", Path.Combine(dir, "edge.key"), Path.Combine(dir, "edge.crt")]);
        Assert.Contains($"nobody 600 {Path.Combine(dir, "edge.key")}", stat, StringComparison.Ordinal);
        Assert.Contains($"nobody 644 {Path.Combine(dir, "edge.crt")}", stat, StringComparison.Ordinal);
        File.SetUnixFileMode(dir, (UnixFileMode)0x1ED);
        var check = await CliProcess.RunAsync(["check", "--config", WriteConfig("owned.json", ServerConfig(key: Path.Combine(dir, "edge.key"), cert: Path.Combine(dir, "edge.crt")))], user: "nobody");
        Assert.True(check.ExitCode == 0, check.Error);
    }

    private string ServerConfig(string listen = "127.0.0.1:14433", string metrics = "", string? key = null, string? cert = null)
        => JsonSerializer.Serialize(new
        {
            Transport = new { Engine = "ngtcp2" },
            Identity = new { CertificateFile = cert ?? Path.Combine(_dir, "server.crt"), KeyFile = key ?? Path.Combine(_dir, "server.key") },
            Server = new
            {
                Listen = listen,
                ClientPins = new Dictionary<string, string> { ["branch1"] = _clientPin },
                AllowedBackends = new[] { "127.0.0.1/32:5900-5999" },
            },
            Metrics = new { Listen = metrics },
        });

    private string WriteConfig(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, (UnixFileMode)0x1A4);
        return path;
    }
}
