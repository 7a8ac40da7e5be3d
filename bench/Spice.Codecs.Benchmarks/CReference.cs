using System.Runtime.InteropServices;

namespace Spice.Codecs.Benchmarks;

/// <summary>
/// spice-common's C QUIC and LZ codecs, loaded from the shim library that bench/codec-vs-c/run.sh builds from a
/// spice-common tree (bench/codec-vs-c/cref.c). Called through function pointers, in this process, so C and C#
/// runs can alternate call by call.
/// </summary>
internal sealed unsafe class CReference : IDisposable
{
    private readonly nint _lib;
    private readonly delegate* unmanaged<byte*, int, int, int, int, uint*, int, int> _quicEncode;
    private readonly delegate* unmanaged<uint*, int, byte*, int, int> _quicDecode;
    private readonly delegate* unmanaged<byte*, int, int, byte*, int, int> _lzEncode;
    private readonly delegate* unmanaged<byte*, int, byte*, int> _lzDecode;

    public CReference(string path)
    {
        _lib = NativeLibrary.Load(path);
        _quicEncode = (delegate* unmanaged<byte*, int, int, int, int, uint*, int, int>)NativeLibrary.GetExport(_lib, "cref_quic_encode");
        _quicDecode = (delegate* unmanaged<uint*, int, byte*, int, int>)NativeLibrary.GetExport(_lib, "cref_quic_decode");
        _lzEncode = (delegate* unmanaged<byte*, int, int, byte*, int, int>)NativeLibrary.GetExport(_lib, "cref_lz_encode");
        _lzDecode = (delegate* unmanaged<byte*, int, byte*, int>)NativeLibrary.GetExport(_lib, "cref_lz_decode");
    }

    /// <summary>QUIC RGB32 encode of tightly packed top-down BGRX; returns the stream length or -1.</summary>
    public int QuicEncode(byte[] pixels, int width, int height, byte[] output) =>
        QuicEncode(pixels, width, height, width * 4, QuicImage.QuicImageType.Rgb32, output);

    /// <summary>QUIC encode of top-down rows of any QUIC type; returns the stream length or -1.</summary>
    public int QuicEncode(byte[] pixels, int width, int height, int stride, QuicImage.QuicImageType type, byte[] output)
    {
        fixed (byte* p = pixels)
        fixed (byte* o = output)
        {
            return _quicEncode(p, width, height, stride, (int)type, (uint*)o, output.Length / 4);
        }
    }

    /// <summary>QUIC decode to BGRX; false on error.</summary>
    public bool QuicDecode(byte[] stream, int length, byte[] output, int stride)
    {
        fixed (byte* s = stream)
        fixed (byte* o = output)
        {
            return _quicDecode((uint*)s, length / 4, o, stride) == 0;
        }
    }

    /// <summary>LZ_RGB32 encode; returns the stream length or -1.</summary>
    public int LzEncode(byte[] pixels, int width, int height, byte[] output)
    {
        fixed (byte* p = pixels)
        fixed (byte* o = output)
        {
            return _lzEncode(p, width, height, o, output.Length);
        }
    }

    /// <summary>LZ decode to tightly packed BGRX; false on error.</summary>
    public bool LzDecode(byte[] stream, int length, byte[] output)
    {
        fixed (byte* s = stream)
        fixed (byte* o = output)
        {
            return _lzDecode(s, length, o) == 0;
        }
    }

    public void Dispose() => NativeLibrary.Free(_lib);
}
