using System.Runtime.InteropServices;

namespace NetemDesk;

/// <summary>
/// One connection to an X display (24-bit TrueColor, as Xorg/Xspice and Xvfb -screen 0 WxHx24 give), with the
/// operations the desk programs use. Any X error ends the process with a message: these are measurement tools, a
/// half-working one must not produce figures.
/// </summary>
internal sealed unsafe class XDisplay : IDisposable
{
    private XDisplay(nint handle)
    {
        Handle = handle;
        Screen = X11.XDefaultScreen(handle);
        Root = X11.XRootWindow(handle, Screen);
        Width = X11.XDisplayWidth(handle, Screen);
        Height = X11.XDisplayHeight(handle, Screen);
    }

    public nint Handle { get; }

    public int Screen { get; }

    public nuint Root { get; }

    public int Width { get; }

    public int Height { get; }

    public static XDisplay Open(string? name)
    {
        X11.XSetErrorHandler(&OnError);
        X11.XSetIOErrorHandler(&OnIoError);
        var handle = X11.XOpenDisplay(name);
        if (handle == 0)
        {
            throw new InvalidOperationException($"cannot open X display '{name ?? Environment.GetEnvironmentVariable("DISPLAY")}'");
        }

        var display = new XDisplay(handle);
        var depth = X11.XDefaultDepth(handle, display.Screen);
        if (depth != 24)
        {
            display.Dispose();
            throw new InvalidOperationException($"the default visual has depth {depth}; the desk programs need 24-bit TrueColor");
        }

        return display;
    }

    [UnmanagedCallersOnly]
    private static int OnError(nint display, X11.XErrorEvent* e)
    {
        Console.Error.WriteLine($"X error: code {e->ErrorCode}, request {e->RequestCode}.{e->MinorCode}, resource 0x{e->ResourceId:x}");
        Environment.Exit(3);
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int OnIoError(nint display)
    {
        Console.Error.WriteLine("X I/O error: the connection to the X server was lost");
        Environment.Exit(4);
        return 0;
    }

    /// <summary>A mapped top-level window (no window manager here, so it appears exactly there) with no background.</summary>
    public nuint CreateWindow(string name, int x, int y, int width, int height)
    {
        var w = X11.XCreateSimpleWindow(Handle, Root, x, y, (uint)width, (uint)height, 0, 0, 0);
        X11.XSetWindowBackgroundPixmap(Handle, w, 0);
        X11.XStoreName(Handle, w, name);
        X11.XMapRaised(Handle, w);
        X11.XSync(Handle, 0);
        return w;
    }

    /// <summary>
    /// Makes the pointer invisible over <paramref name="window"/> (a photo viewer's full-screen mode): Xspice draws the
    /// pointer into the frame buffer, and the probe compares every pixel of the screen with the photo.
    /// </summary>
    public void HideCursor(nuint window)
    {
        byte zero = 0;
        var color = stackalloc byte[16]; // XColor: pixel, red, green, blue, flags, pad
        var blank = X11.XCreateBitmapFromData(Handle, window, &zero, 1, 1);
        var cursor = X11.XCreatePixmapCursor(Handle, blank, blank, color, color, 0, 0);
        X11.XDefineCursor(Handle, window, cursor);
    }

    public nint CreateGc(nuint drawable) => X11.XCreateGC(Handle, drawable, 0, 0);

    /// <summary>An XImage over native memory holding 32-bit pixels 0x00RRGGBB (little endian: B, G, R, 0).</summary>
    public X11.XImage* CreateImage(uint* pixels, int width, int height)
    {
        var image = X11.XCreateImage(Handle, X11.XDefaultVisual(Handle, Screen), 24, X11.ZPixmap, 0, (byte*)pixels, (uint)width, (uint)height, 32, width * 4);
        return image is null ? throw new InvalidOperationException("XCreateImage failed") : image;
    }

    public void FillRect(nuint drawable, nint gc, uint pixel, int x, int y, int width, int height)
    {
        X11.XSetForeground(Handle, gc, pixel);
        X11.XFillRectangle(Handle, drawable, gc, x, y, (uint)width, (uint)height);
    }

    public void Flush() => X11.XFlush(Handle);

    public void Sync() => X11.XSync(Handle, 0);

    public (int X, int Y) Pointer()
    {
        X11.XQueryPointer(Handle, Root, out _, out _, out var x, out var y, out _, out _, out _);
        return (x, y);
    }

    /// <summary>Copies a screen region's pixels (4 bytes each, rows packed) into <paramref name="destination"/>.</summary>
    public void Grab(Region r, Span<byte> destination)
    {
        var image = X11.XGetImage(Handle, Root, r.X, r.Y, (uint)r.Width, (uint)r.Height, X11.AllPlanes, X11.ZPixmap);
        if (image is null)
        {
            throw new InvalidOperationException($"XGetImage of {r} failed (outside the screen?)");
        }

        try
        {
            var row = r.Width * 4;
            for (var y = 0; y < r.Height; y++)
            {
                new ReadOnlySpan<byte>(image->Data + ((long)y * image->BytesPerLine), row).CopyTo(destination.Slice(y * row, row));
            }
        }
        finally
        {
            X11.XDestroyImage(image);
        }
    }

    public void Dispose() => X11.XCloseDisplay(Handle);
}

/// <summary>A screen rectangle given as X geometry WxH+X+Y.</summary>
internal readonly record struct Region(int X, int Y, int Width, int Height)
{
    public int Bytes => Width * Height * 4;

    public static Region Parse(string geometry)
    {
        var m = System.Text.RegularExpressions.Regex.Match(geometry, @"^(\d+)x(\d+)\+(\d+)\+(\d+)$");
        if (!m.Success)
        {
            throw new ArgumentException($"geometry '{geometry}' is not WxH+X+Y");
        }

        int G(int i) => int.Parse(m.Groups[i].Value, System.Globalization.CultureInfo.InvariantCulture);
        return new Region(G(3), G(4), G(1), G(2));
    }

    public override string ToString() => $"{Width}x{Height}+{X}+{Y}";
}
