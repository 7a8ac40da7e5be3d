using System.Diagnostics;
using System.Globalization;
using Accel.Core.Tests.Relay;

namespace Accel.Core.Tests.Spice.Canvas;

/// <summary>Real X clients on an Xspice display: typing and scrolling in xterm, a photo (xwud), xlogo, window moves.</summary>
internal static class DesktopActivity
{
    public static async Task RunAsync(XspiceServer xspice, CancellationToken ct)
    {
        xspice.StartClient("xterm", "-geometry", "90x30+40+40", "-title", "canvasterm", "-e", "sh");
        string term = await RunAsync(xspice, ct, "xdotool", "search", "--sync", "--onlyvisible", "--name", "canvasterm");
        xspice.StartClient("xlogo", "-geometry", "220x220+620+60");
        string logo = await RunAsync(xspice, ct, "xdotool", "search", "--sync", "--onlyvisible", "--class", "xlogo");
        using var photo = PhotoXwd.Create(360, 270);
        xspice.StartClient("xwud", "-in", photo.Path, "-geometry", "+560+420");
        string picture = await RunAsync(xspice, ct, "xdotool", "search", "--sync", "--onlyvisible", "--class", "xwud");

        // Typing and scrolling: focus follows the pointer without a window manager.
        await RunAsync(xspice, ct, "xdotool", "mousemove", "200", "200");
        await RunAsync(xspice, ct, "xdotool", "type", "--delay", "5", "seq 1 200; ls -la /usr/bin | head -n 80\n");
        await RunAsync(xspice, ct, "xdotool", "type", "--delay", "5", "echo the quick brown fox jumps over the lazy dog\n");

        // Window moves over each other and the terminal.
        for (int i = 0; i < 6; i++)
        {
            await RunAsync(xspice, ct, "xdotool", "windowmove", First(logo), (100 + i * 70).ToString(CultureInfo.InvariantCulture), (120 + i * 40).ToString(CultureInfo.InvariantCulture));
            await RunAsync(xspice, ct, "xdotool", "windowmove", First(picture), (500 - i * 50).ToString(CultureInfo.InvariantCulture), (380 - i * 30).ToString(CultureInfo.InvariantCulture));
        }

        await RunAsync(xspice, ct, "xdotool", "windowraise", First(term));
        await RunAsync(xspice, ct, "xdotool", "type", "--delay", "5", "clear; seq 1000 1060\n");
    }

    /// <summary>
    /// More of everything, with the NetemDesk animation (window "netem-animate") running: fast scrolling, a second photo,
    /// the animated window moved over the terminal and the photos, windows raised over it.
    /// </summary>
    public static async Task MoreAsync(XspiceServer xspice, int rounds, CancellationToken ct)
    {
        string term = First(await RunAsync(xspice, ct, "xdotool", "search", "--onlyvisible", "--name", "canvasterm"));
        string animation = First(await RunAsync(xspice, ct, "xdotool", "search", "--onlyvisible", "--name", "netem-animate"));
        var before = (await RunAsync(xspice, ct, "xdotool", "search", "--onlyvisible", "--class", "xwud")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var photo = PhotoXwd.Create(480, 300);
        xspice.StartClient("xwud", "-in", photo.Path, "-geometry", "+120+330");
        // Both xwud windows are named "photo": the new one is the window that was not there before (each query is a round
        // trip to the X server, so the loop needs no delay of its own).
        var waited = Stopwatch.StartNew();
        string? picture;
        while ((picture = (await RunAsync(xspice, ct, "xdotool", "search", "--onlyvisible", "--class", "xwud"))
                   .Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(w => !before.Contains(w))) is null)
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("the second photo window never appeared");
            }
        }

        await RunAsync(xspice, ct, "xdotool", "windowraise", term);
        await RunAsync(xspice, ct, "xdotool", "mousemove", "200", "200");
        await RunAsync(xspice, ct, "xdotool", "type", "--delay", "5", "seq 1 1500; ls -la /usr/lib | head -n 200\n");
        for (int i = 0; i < rounds; i++)
        {
            await RunAsync(xspice, ct, "xdotool", "windowmove", animation, (560 - (i % 9) * 60).ToString(CultureInfo.InvariantCulture), (420 - (i % 9) * 35).ToString(CultureInfo.InvariantCulture));
            await RunAsync(xspice, ct, "xdotool", "type", "--delay", "20", "echo move " + i.ToString(CultureInfo.InvariantCulture) + "\n");
            await RunAsync(xspice, ct, "xdotool", "windowraise", i % 2 == 0 ? picture : term);
        }

        await RunAsync(xspice, ct, "xdotool", "windowmove", animation, "660", "470");
        await RunAsync(xspice, ct, "xdotool", "windowraise", term);
        await RunAsync(xspice, ct, "xdotool", "type", "--delay", "5", "clear; seq 2000 2040\n");
    }

    /// <summary>Maps a small window of one marker colour at the top-left corner and returns the colour (0xRRGGBB).</summary>
    public static async Task<uint> MarkAsync(XspiceServer xspice, CancellationToken ct)
    {
        xspice.StartClient("xlogo", "-geometry", "24x24+0+0", "-bg", "#123456", "-fg", "#123456", "-title", "canvasmarker");
        await RunAsync(xspice, ct, "xdotool", "search", "--sync", "--onlyvisible", "--name", "canvasmarker");
        return 0x123456;
    }

    private static string First(string windows) => windows.Trim().Split('\n')[0];

    private static async Task<string> RunAsync(XspiceServer xspice, CancellationToken ct, string file, params string[] args)
    {
        return await xspice.RunClientAsync(file, args, TimeSpan.FromSeconds(30), ct);
    }
}
