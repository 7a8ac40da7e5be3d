using System.Runtime.InteropServices;

namespace NetemDesk;

/// <summary>The few Xlib/XTest calls the desk programs need (libX11.so.6, libXtst.so.6), by direct P/Invoke.</summary>
internal static unsafe partial class X11
{
    public const int ZPixmap = 2;
    public static readonly nuint AllPlanes = nuint.MaxValue;

    /// <summary>The start of Xlib's XImage (64-bit layout): width, height, xoffset, format, data, then six ints.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct XImage
    {
        public int Width;
        public int Height;
        public int XOffset;
        public int Format;
        public byte* Data;
        public int ByteOrder;
        public int BitmapUnit;
        public int BitmapBitOrder;
        public int BitmapPad;
        public int Depth;
        public int BytesPerLine;
        public int BitsPerPixel;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct XErrorEvent
    {
        public int Type;
        public nint Display;
        public nuint ResourceId;
        public nuint Serial;
        public byte ErrorCode;
        public byte RequestCode;
        public byte MinorCode;
    }

    private const string Lib = "libX11.so.6";

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint XOpenDisplay(string? name);

    [LibraryImport(Lib)]
    public static partial int XCloseDisplay(nint display);

    [LibraryImport(Lib)]
    public static partial int XDefaultScreen(nint display);

    [LibraryImport(Lib)]
    public static partial nuint XRootWindow(nint display, int screen);

    [LibraryImport(Lib)]
    public static partial nint XDefaultVisual(nint display, int screen);

    [LibraryImport(Lib)]
    public static partial int XDefaultDepth(nint display, int screen);

    [LibraryImport(Lib)]
    public static partial int XDisplayWidth(nint display, int screen);

    [LibraryImport(Lib)]
    public static partial int XDisplayHeight(nint display, int screen);

    [LibraryImport(Lib)]
    public static partial nuint XCreateSimpleWindow(nint display, nuint parent, int x, int y, uint width, uint height, uint borderWidth, nuint border, nuint background);

    [LibraryImport(Lib)]
    public static partial int XSetWindowBackgroundPixmap(nint display, nuint window, nuint pixmap);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int XStoreName(nint display, nuint window, string name);

    [LibraryImport(Lib)]
    public static partial int XMapRaised(nint display, nuint window);

    [LibraryImport(Lib)]
    public static partial nint XCreateGC(nint display, nuint drawable, nuint valueMask, nint values);

    [LibraryImport(Lib)]
    public static partial int XSetForeground(nint display, nint gc, nuint pixel);

    [LibraryImport(Lib)]
    public static partial nuint XCreateBitmapFromData(nint display, nuint drawable, byte* data, uint width, uint height);

    /// <summary>XColor* for both colours: an all-zero mask makes them irrelevant.</summary>
    [LibraryImport(Lib)]
    public static partial nuint XCreatePixmapCursor(nint display, nuint source, nuint mask, byte* foreground, byte* background, uint x, uint y);

    [LibraryImport(Lib)]
    public static partial int XDefineCursor(nint display, nuint window, nuint cursor);

    [LibraryImport(Lib)]
    public static partial int XFillRectangle(nint display, nuint drawable, nint gc, int x, int y, uint width, uint height);

    [LibraryImport(Lib)]
    public static partial XImage* XCreateImage(nint display, nint visual, uint depth, int format, int offset, byte* data, uint width, uint height, int bitmapPad, int bytesPerLine);

    [LibraryImport(Lib)]
    public static partial int XPutImage(nint display, nuint drawable, nint gc, XImage* image, int srcX, int srcY, int destX, int destY, uint width, uint height);

    [LibraryImport(Lib)]
    public static partial XImage* XGetImage(nint display, nuint drawable, int x, int y, uint width, uint height, nuint planeMask, int format);

    [LibraryImport(Lib)]
    public static partial int XDestroyImage(XImage* image);

    [LibraryImport(Lib)]
    public static partial int XFlush(nint display);

    [LibraryImport(Lib)]
    public static partial int XSync(nint display, int discard);

    [LibraryImport(Lib)]
    [return: MarshalAs(UnmanagedType.I4)]
    public static partial bool XQueryPointer(nint display, nuint window, out nuint root, out nuint child, out int rootX, out int rootY, out int winX, out int winY, out uint mask);

    [LibraryImport(Lib)]
    public static partial byte XKeysymToKeycode(nint display, nuint keysym);

    [LibraryImport(Lib)]
    public static partial nint XSetErrorHandler(delegate* unmanaged<nint, XErrorEvent*, int> handler);

    [LibraryImport(Lib)]
    public static partial nint XSetIOErrorHandler(delegate* unmanaged<nint, int> handler);

    [LibraryImport("libXtst.so.6")]
    public static partial int XTestFakeKeyEvent(nint display, uint keycode, int isPress, nuint delay);
}
