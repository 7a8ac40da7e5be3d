using BenchmarkDotNet.Attributes;
using Spice.Codecs.Glz;
using Spice.Codecs.Jpeg;
using Spice.Codecs.Lz;
using Spice.Codecs.Lz4;
using Spice.Codecs.QuicImage;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Benchmarks;

/// <summary>Encode/decode of one 1024×768 BGRX image per operation (3 MiB of pixels).</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class CodecBenchmarks
{
    public const int Width = 1024;
    public const int Height = 768;

    private byte[] _pixels = [];
    private byte[] _encoded = [];
    private byte[] _decoded = [];
    private byte[] _quic = [];
    private int _quicLength;
    private byte[] _lz = [];
    private int _lzLength;
    private byte[] _lz4 = [];
    private int _lz4Length;
    private byte[] _glz = [];
    private int _glzLength;
    private byte[] _jpeg = [];
    private int _jpegLength;
    private GlzEncoderDictionary _glzDictionary = null!;
    private GlzDecoderWindow _glzWindow = null!;

    [Params("plasma", "text")]
    public string Image { get; set; } = "plasma";

    private static BitmapDescriptor Descriptor => BitmapDescriptor.Rgb32(Width, Height);

    public static byte[] MakeImage(string name) =>
        TestImages.Rgb32(name == "plasma" ? TestImages.Kind.Plasma : TestImages.Kind.Text, Width, Height, seed: 42);

    [GlobalSetup]
    public void Setup()
    {
        _pixels = MakeImage(Image);
        _encoded = new byte[Math.Max(QuicImageEncoder.GetMaxEncodedLength(Width, Height, QuicImageType.Rgb32), JpegCodec.GetMaxEncodedLength(Width, Height))];
        _decoded = new byte[Width * Height * 4];
        _glzDictionary = new GlzEncoderDictionary(new GlzEncoderOptions { WindowPixels = 4L * Width * Height });
        _glzWindow = new GlzDecoderWindow();

        _quic = new byte[_encoded.Length];
        QuicImageEncoder.TryEncode(_pixels, Descriptor, _quic, out _quicLength);
        _lz = new byte[_encoded.Length];
        LzEncoder.TryEncode(_pixels, Descriptor, _lz, out _lzLength);
        _lz4 = new byte[_encoded.Length];
        Lz4ImageCodec.Encode(_pixels, Descriptor, _lz4, out _lz4Length);
        _glz = new byte[_encoded.Length];
        _glzDictionary.Encode(_pixels, Descriptor, _glz, out _glzLength, out _);
        if (JpegCodec.IsSupported)
        {
            _jpeg = new byte[_encoded.Length];
            JpegCodec.Encode(_pixels, Descriptor, _jpeg, out _jpegLength);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _glzDictionary.Dispose();
        _glzWindow.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int QuicEncode()
    {
        QuicImageEncoder.TryEncode(_pixels, Descriptor, _encoded, out int written);
        return written;
    }

    [Benchmark]
    public OperationStatus QuicDecode() => QuicImageDecoder.Decode(_quic.AsSpan(0, _quicLength), _decoded, Width * 4, out _);

    [Benchmark]
    public int LzEncode()
    {
        LzEncoder.TryEncode(_pixels, Descriptor, _encoded, out int written);
        return written;
    }

    [Benchmark]
    public OperationStatus LzDecode() => LzDecoder.Decode(_lz.AsSpan(0, _lzLength), _decoded, Width * 4, out _);

    /// <summary>A first occurrence: the dictionary is emptied before each image, so only in-image matches exist.</summary>
    [Benchmark]
    public int GlzEncode()
    {
        _glzDictionary.Reset();
        _glzDictionary.Encode(_pixels, Descriptor, _encoded, out int written, out _);
        return written;
    }

    [Benchmark]
    public OperationStatus GlzDecode()
    {
        _glzWindow.Reset();
        return _glzWindow.Decode(_glz.AsSpan(0, _glzLength), _decoded, Width * 4, out _);
    }

    [Benchmark]
    public OperationStatus Lz4Encode() => Lz4ImageCodec.Encode(_pixels, Descriptor, _encoded, out _);

    [Benchmark]
    public OperationStatus Lz4Decode() => Lz4ImageCodec.Decode(_lz4.AsSpan(0, _lz4Length), Width, Height, _decoded, Width * 4, out _);

    [Benchmark]
    public OperationStatus JpegEncode() => JpegCodec.Encode(_pixels, Descriptor, _encoded, out _);

    [Benchmark]
    public OperationStatus JpegDecode() => JpegCodec.Decode(_jpeg.AsSpan(0, _jpegLength), Width, Height, _decoded, Width * 4);
}
