using Accel.Edge.Commands;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.Commands;

public sealed class VvFileTests
{
    // What Proxmox VE's "SPICE" console button downloads (ticket and CA shortened).
    private const string Proxmox = "[virt-viewer]\r\n"
        + "secure-attention=Ctrl+Alt+Ins\r\n"
        + "host=pvespiceproxy:65a1b2c3:101:pve1::0f1e2d3c4b5a\r\n"
        + "tls-port=61000\r\n"
        + "proxy=http://192.0.2.10:3128\r\n"
        + "type=spice\r\n"
        + "password=abc123\r\n"
        + "ca=-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\r\n"
        + "host-subject=OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=pve1\r\n"
        + "delete-this-file=1\r\n"
        + "toggle-fullscreen=Shift+F11\r\n";

    [Fact]
    public void Rewrite_ProxmoxFile_ProxyPointsAtTheEdgeAndTheRestIsKept()
    {
        Assert.True(VvFile.TryRewrite(Proxmox, "http://127.0.0.1:3128", out var text, out var error), error);

        var lines = text.Split("\r\n");
        Assert.Contains("proxy=http://127.0.0.1:3128", lines);
        Assert.Contains("# spiceaccel: was proxy=http://192.0.2.10:3128", lines);
        Assert.DoesNotContain("proxy=http://192.0.2.10:3128", lines);
        foreach (var original in Proxmox.Split("\r\n").Where(l => l.Length > 0 && !l.StartsWith("proxy=", StringComparison.Ordinal)))
        {
            Assert.Contains(original, lines);
        }

        Assert.DoesNotContain("\n", text.Replace("\r\n", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrite_FileWithoutProxy_AddsOneInTheGroup()
    {
        const string OVirt = "[virt-viewer]\ntype=spice\nhost=10.0.0.5\nport=5900\ntls-port=5901\n\n[ovirt]\nhost=engine.example:443\n";

        Assert.True(VvFile.TryRewrite(OVirt, "http://127.0.0.1:13128", out var text, out _));

        Assert.StartsWith("[virt-viewer]\nproxy=http://127.0.0.1:13128\ntype=spice\n", text, StringComparison.Ordinal);
        Assert.EndsWith("[ovirt]\nhost=engine.example:443\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hello world\n", "no [virt-viewer] group")]
    [InlineData("[virt-viewer]\nfullscreen=1\n", "neither type= nor host=")]
    public void Rewrite_NotAVvFile_SaysWhy(string input, string reason)
    {
        Assert.False(VvFile.TryRewrite(input, "http://127.0.0.1:3128", out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VvVerb_StandardInToStandardOut_UsesTheClientConfigsConnectListener()
    {
        var dir = Directory.CreateTempSubdirectory("sa-vv-").FullName;
        try
        {
            var config = Path.Combine(dir, "client.json");
            await File.WriteAllTextAsync(config, """{ "Client": { "Listeners": [ { "Mode": "Explicit", "Listen": "127.0.0.1:5900" }, { "Mode": "Connect", "Listen": "0.0.0.0:13128" } ] } }""", TestContext.Current.CancellationToken);

            var r = await CliProcess.RunAsync(["vv", "-", "--config", config], stdin: Proxmox);

            Assert.Equal(0, r.ExitCode);
            Assert.Contains("proxy=http://127.0.0.1:13128\r\n", r.Out, StringComparison.Ordinal);
            Assert.Contains("host=pvespiceproxy:65a1b2c3:101:pve1::0f1e2d3c4b5a\r\n", r.Out, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
