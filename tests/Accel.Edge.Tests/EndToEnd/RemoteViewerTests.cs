using System.Globalization;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>remote-viewer (spice-gtk) under Xvfb in the branch, driven by xdotool, through the client edge.</summary>
[Collection(SpiceLabCollection.Name)]
public sealed class RemoteViewerTests(SpiceLabFixture lab)
{
    [Fact]
    public async Task RemoteViewer_TypingAndPointer_ArriveOnTheXspiceDisplay()
    {
        var ct = TestContext.Current.CancellationToken;
        // Xvfb picks a free display itself and writes its number once it accepts clients (-displayfd), so no display
        // number can collide with another run's and no stale socket file can pass for a ready server.
        var (_, display) = await lab.Lab.StartXvfbAsync(lab.Lab.Branch, "1280x1024x24", ct);
        var env = new Dictionary<string, string> { ["DISPLAY"] = display };
        lab.Lab.Start(lab.Lab.Branch, "remote-viewer", [$"spice://127.0.0.1:{SpiceLabFixture.ExplicitPort}"], env);

        var window = (await InBranchAsync(env, TimeSpan.FromSeconds(30), "xdotool", "search", "--sync", "--onlyvisible", "--class", "remote-viewer")).Trim().Split('\n')[^1];

        // Pointer: move over the remote-viewer window and see the Xspice pointer follow.
        var before = await RemotePointerAsync(ct);
        var moved = false;
        await Poll.UntilAsync(async () =>
        {
            await InBranchAsync(env, TimeSpan.FromSeconds(5), "xdotool", "mousemove", "--window", window, "400", "350", "click", "1");
            await InBranchAsync(env, TimeSpan.FromSeconds(5), "xdotool", "mousemove", "--window", window, "600", "450");
            var now = await RemotePointerAsync(ct);
            moved = now != before;
            return moved;
        }, TimeSpan.FromSeconds(30), "pointer motion never reached the Xspice display");

        // Keyboard: type a line into the remote xterm (it writes what it reads to a file on the server side).
        var token = "spiceaccel" + Random.Shared.Next(10000, 99999).ToString(CultureInfo.InvariantCulture);
        await Poll.UntilAsync(async () =>
        {
            await InBranchAsync(env, TimeSpan.FromSeconds(15), "xdotool", "type", "--delay", "30", token);
            await InBranchAsync(env, TimeSpan.FromSeconds(5), "xdotool", "key", "Return");
            return (await File.ReadAllTextAsync(lab.TypedFile, ct)).Contains(token, StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(40), "typed text never reached the remote xterm");

        Assert.True(moved);
        Assert.Contains(token, await File.ReadAllTextAsync(lab.TypedFile, ct), StringComparison.Ordinal);
    }

    private Task<string> InBranchAsync(IReadOnlyDictionary<string, string> env, TimeSpan timeout, params string[] command)
        => Shell.RunAsync("ip", ["netns", "exec", lab.Lab.Branch, .. command], timeout, env: env);

    private async Task<string> RemotePointerAsync(CancellationToken ct)
    {
        var bytes = await lab.Xspice.RunAsync("xdotool", ["getmouselocation"], TimeSpan.FromSeconds(5), ct);
        return System.Text.Encoding.ASCII.GetString(bytes).Trim();
    }
}
