using System.Globalization;
using System.Text.Json;
using Accel.Edge.Demo;
using Accel.Edge.Tests.EndToEnd;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.Systemd;

/// <summary>
/// The unit files are valid, and the server edge works under the unit's sandbox. systemd is not running on these
/// machines, so the same settings are applied by hand: a dedicated unprivileged user, no new privileges, no
/// capabilities (bounding and inheritable sets empty), a read-only file system with a private /tmp.
/// </summary>
[Collection(SpiceLabCollection.Name)]
public sealed class SystemdUnitTests(SpiceLabFixture lab)
{
    [Theory]
    [InlineData("spiceaccel-server.service")]
    [InlineData("spiceaccel-client.service")]
    public async Task Unit_SystemdAnalyzeVerify_IsClean(string unit)
    {
        var root = Repo.Root;
        var apphost = Path.Combine(Path.GetDirectoryName(EdgeProcess.DllPath)!, "spiceaccel");
        Assert.True(File.Exists(apphost), "the apphost " + apphost + " must exist");
        var dir = Directory.CreateTempSubdirectory("sa-units-").FullName;
        try
        {
            var text = await File.ReadAllTextAsync(Path.Combine(root, "systemd", unit), TestContext.Current.CancellationToken);
            Assert.Contains("Type=notify", text, StringComparison.Ordinal);
            Assert.Contains("NoNewPrivileges=yes", text, StringComparison.Ordinal);
            Assert.Contains("ProtectSystem=strict", text, StringComparison.Ordinal);
            Assert.Contains("CapabilityBoundingSet=\n", text, StringComparison.Ordinal);
            var path = Path.Combine(dir, unit);
            await File.WriteAllTextAsync(path, text.Replace("/usr/bin/spiceaccel", apphost, StringComparison.Ordinal), TestContext.Current.CancellationToken);

            var output = await Shell.RunAsync("sh", ["-c", $"systemd-analyze verify '{path}' 2>&1; echo rc=$?"], TimeSpan.FromSeconds(60));

            Assert.EndsWith("rc=0", output.Trim(), StringComparison.Ordinal);
            Assert.DoesNotContain(unit, output.Replace($"rc=0", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("spiceaccel-server.service")]
    [InlineData("spiceaccel-client.service")]
    public async Task Unit_SystemdAnalyzeSecurity_ExposureAtMost2(string unit)
    {
        var path = Path.Combine(Repo.Root, "systemd", unit);
        var text = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        foreach (var key in new[] { "SystemCallFilter", "MemoryHigh", "MemoryMax", "TasksMax", "WatchdogSec" })
        {
            Assert.Matches($"(?m)^{key}=.+$", text);
        }

        // --threshold makes systemd-analyze itself fail above 2.0 (its scale is 0..100 internally, shown as 0.0..10.0).
        var output = await Shell.RunAsync("sh", ["-c", $"systemd-analyze security --offline=yes --threshold=20 '{path}' 2>&1; echo rc=$?"], TimeSpan.FromSeconds(60));
        var m = System.Text.RegularExpressions.Regex.Match(output, @"Overall exposure level for \S+: (\d+\.\d)");
        Assert.True(m.Success, output);
        Assert.True(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) <= 2.0, output);
        Assert.EndsWith("rc=0", output.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerEdge_UnderTheUnitSandboxAppliedByHand_ServesASession()
    {
        var ct = TestContext.Current.CancellationToken;

        // Files as the installer lays them out: readable by the service user, the key by it alone.
        var etc = Directory.CreateDirectory(Path.Combine("/run", "sa-hard-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        try
        {
            File.SetUnixFileMode(etc, (UnixFileMode)0x1ED);
            File.Copy(Path.Combine(lab.Dir, "server.crt"), Path.Combine(etc, "server.crt"));
            File.Copy(Path.Combine(lab.Dir, "server.key"), Path.Combine(etc, "server.key"));
            const int Port = SpiceLabFixture.EdgePort + 1;
            await File.WriteAllTextAsync(Path.Combine(etc, "server.json"), JsonSerializer.Serialize(new
            {
                Identity = new { CertificateFile = Path.Combine(etc, "server.crt"), KeyFile = Path.Combine(etc, "server.key") },
                Server = new
                {
                    Listen = $"{lab.Lab.DcWanIp}:{Port}",
                    ClientPins = new[] { lab.ClientPin },
                    AllowedBackends = new[] { $"{lab.Lab.BackendIp}/32:{SpiceLabFixture.SpicePort}" },
                },
                Metrics = new { Listen = string.Empty },
            }), ct);
            foreach (var f in Directory.GetFiles(etc))
            {
                File.SetUnixFileMode(f, (UnixFileMode)0x1A4);
            }

            await Shell.RunAsync("chown", ["nobody", Path.Combine(etc, "server.key")]);
            File.SetUnixFileMode(Path.Combine(etc, "server.key"), (UnixFileMode)0x180);
            var dotnet = await Shell.RunAsync("sh", ["-c", "readlink -f \"$(command -v dotnet)\""]);

            // Outside /tmp, which the sandbox replaces (the package installs to /usr/lib/spiceaccel).
            var app = Path.Combine(etc, "app");
            var built = Path.Combine(Repo.Root, "src", "Accel.Edge", "bin", "Release", "net10.0");
            Assert.True(File.Exists(Path.Combine(built, "spiceaccel.dll")), "build the solution first: " + built);
            await Shell.RunAsync("cp", ["-a", built, app]);
            await Shell.RunAsync("chmod", ["-R", "a+rX", app]);

            // Under strace (as the service user, tracing its own child), to learn every system call the edge makes
            // while it serves; and with WATCHDOG_USEC, as systemd sets it from WatchdogSec=.
            // Its directory is bound writable again inside the read-only root.
            var traceDir = Directory.CreateDirectory(Path.Combine(etc, "trace")).FullName;
            await Shell.RunAsync("chown", ["nobody", traceDir]);
            var trace = Path.Combine(traceDir, "syscalls.trace");
            await using var hardened = await EdgeProcess.StartShellAsync(lab.Lab, lab.Lab.Dc, "hardened server edge", "/run", _ =>
                "exec unshare --mount --propagation private sh -c '" +
                "mount --bind / / && mount -o remount,bind,ro / && mount -t tmpfs -o mode=1777 tmpfs /tmp && " +
                $"mount --bind {traceDir} {traceDir} && mount -o remount,bind,rw {traceDir} && " +
                "exec setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all " +
                $"strace -f -qq -o {trace} " +
                $"env HOME=/nonexistent DOTNET_CLI_TELEMETRY_OPTOUT=1 WATCHDOG_USEC=2000000 {dotnet.Trim()} {app}/spiceaccel.dll server --config {etc}/server.json'",
                TimeSpan.FromSeconds(60));

            // Its identity as the sandbox sees it: not root, no capabilities, no new privileges.
            var pid = await PidOfServerAsync(Port);
            var status = await File.ReadAllTextAsync($"/proc/{pid}/status", ct);
            Assert.Matches(@"Uid:\s+65534", status);
            Assert.Matches(@"CapEff:\s+0000000000000000", status);
            Assert.Matches(@"CapBnd:\s+0000000000000000", status);
            Assert.Matches(@"NoNewPrivs:\s+1", status);

            // And it serves: a client edge through it shows the desktop.
            var explicitPort = SpiceLabFixture.ExplicitPort + 10;
            var config = lab.ClientConfig([lab.ServerPin], explicitPort: explicitPort, allListeners: false)
                .Replace($":{SpiceLabFixture.EdgePort}\"", $":{Port}\"", StringComparison.Ordinal);
            lab.Write("hard-client.json", config);
            await using var client = await EdgeProcess.StartAsync(lab.Lab, lab.Lab.Branch, "client edge for hardened server", "client", Path.Combine(lab.Dir, "hard-client.json"), TimeSpan.FromSeconds(60));
            var (image, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", explicitPort, Path.Combine(lab.Dir, "hardened.ppm"), TimeSpan.FromSeconds(60), ct, netns: lab.Lab.Branch);
            Assert.True(image.DistinctColours() > 2);

            // The watchdog: WATCHDOG=1 while it serves (every second for WATCHDOG_USEC = 2 s).
            await hardened.WaitNotifyAsync("WATCHDOG=1", TimeSpan.FromSeconds(10));
            await hardened.WaitNotifyAsync("WATCHDOG=1", TimeSpan.FromSeconds(10));

            // SIGTERM to the edge (strace then exits with its status), as systemctl stop: a clean exit.
            await Shell.RunAsync("kill", ["-TERM", pid]);
            Assert.Equal(0, await hardened.StopAsync(TimeSpan.FromSeconds(20)));

            // Every system call it made is one the units' SystemCallFilter= allows.
            var unit = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "systemd", "spiceaccel-server.service"), ct);
            var allowed = await SyscallFilter.AllowedAsync(unit);
            var made = SyscallFilter.Calls(await File.ReadAllLinesAsync(trace, ct));
            Assert.True(made.Count > 40, "strace saw too few system calls: " + string.Join(' ', made));
            var denied = made.Where(call => !allowed.Contains(call)).ToList();
            Assert.True(denied.Count == 0, "SystemCallFilter= would refuse: " + string.Join(' ', denied));
        }
        finally
        {
            Directory.Delete(etc, recursive: true);
        }
    }

    private async Task<string> PidOfServerAsync(int port)
    {
        var ss = await Shell.InNsAsync(lab.Lab.Dc, "ss", "-Hulnp", $"sport = :{port.ToString(CultureInfo.InvariantCulture)}");
        var m = System.Text.RegularExpressions.Regex.Match(ss, @"pid=(\d+)");
        Assert.True(m.Success, "the hardened server edge must be listening: " + ss);
        return m.Groups[1].Value;
    }
}
