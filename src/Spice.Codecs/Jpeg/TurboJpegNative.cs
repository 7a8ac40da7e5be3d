using System.Runtime.InteropServices;

namespace Spice.Codecs.Jpeg;

/// <summary>P/Invoke to Debian's libturbojpeg.so.0 (TurboJPEG 2.x API).</summary>
internal static partial class TurboJpegNative
{
    private const string Lib = "libturbojpeg.so.0";

    public const int PixelFormatBgrx = 3;
    public const int Subsampling420 = 2;
    public const int FlagBottomUp = 2;
    public const int FlagNoRealloc = 1024;

    [LibraryImport(Lib, EntryPoint = "tjInitCompress")]
    public static partial nint InitCompress();

    [LibraryImport(Lib, EntryPoint = "tjInitDecompress")]
    public static partial nint InitDecompress();

    [LibraryImport(Lib, EntryPoint = "tjDestroy")]
    public static partial int Destroy(nint handle);

    [LibraryImport(Lib, EntryPoint = "tjBufSize")]
    public static partial nuint BufSize(int width, int height, int subsampling);

    [LibraryImport(Lib, EntryPoint = "tjFree")]
    public static partial void Free(nint buffer);

    [LibraryImport(Lib, EntryPoint = "tjCompress2")]
    public static unsafe partial int Compress2(nint handle, byte* src, int width, int pitch, int height, int pixelFormat,
        ref nint jpegBuf, ref nuint jpegSize, int subsampling, int quality, int flags);

    [LibraryImport(Lib, EntryPoint = "tjDecompressHeader3")]
    public static unsafe partial int DecompressHeader3(nint handle, byte* jpeg, nuint jpegSize, out int width, out int height,
        out int subsampling, out int colorspace);

    [LibraryImport(Lib, EntryPoint = "tjDecompress2")]
    public static unsafe partial int Decompress2(nint handle, byte* jpeg, nuint jpegSize, byte* dst, int width, int pitch, int height,
        int pixelFormat, int flags);

    [ThreadStatic]
    private static nint s_compressor;

    [ThreadStatic]
    private static nint s_decompressor;

    /// <summary>This thread's compressor (created once per thread and kept; TurboJPEG handles are reusable after errors).</summary>
    public static nint Compressor
    {
        get
        {
            if (s_compressor == 0)
            {
                s_compressor = InitCompress();
                if (s_compressor == 0)
                {
                    throw new InvalidOperationException("tjInitCompress failed.");
                }
            }

            return s_compressor;
        }
    }

    /// <summary>This thread's decompressor (created once per thread and kept).</summary>
    public static nint Decompressor
    {
        get
        {
            if (s_decompressor == 0)
            {
                s_decompressor = InitDecompress();
                if (s_decompressor == 0)
                {
                    throw new InvalidOperationException("tjInitDecompress failed.");
                }
            }

            return s_decompressor;
        }
    }

    /// <summary>
    /// Drops this thread's decompressor after a failed call: libjpeg-turbo 2.1 can leave a handle in a state where the
    /// next call fails ("improper call to JPEG library"), so a fresh one is created on next use.
    /// </summary>
    public static void DiscardDecompressor()
    {
        if (s_decompressor != 0)
        {
            Destroy(s_decompressor);
            s_decompressor = 0;
        }
    }

    /// <summary>Drops this thread's compressor after a failed call.</summary>
    public static void DiscardCompressor()
    {
        if (s_compressor != 0)
        {
            Destroy(s_compressor);
            s_compressor = 0;
        }
    }

    private static bool? s_available;

    /// <summary>True when libturbojpeg.so.0 can be loaded on this host.</summary>
    public static bool IsAvailable
    {
        get
        {
            if (s_available is null)
            {
                bool ok = NativeLibrary.TryLoad(Lib, out nint h);
                if (ok)
                {
                    NativeLibrary.Free(h);
                }

                s_available = ok;
            }

            return s_available.Value;
        }
    }
}
