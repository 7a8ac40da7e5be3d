using System.Diagnostics;
using BenchmarkDotNet.Running;
using Spice.Codecs;
using Spice.Codecs.Benchmarks;
using Spice.Codecs.Glz;
using Spice.Codecs.Jpeg;
using Spice.Codecs.Lz;
using Spice.Codecs.Lz4;
using Spice.Codecs.QuicImage;

if (args.Length > 0 && args[0] == "vs-c")
{
    return VsC.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "--ratios")
{
    PrintRatios();
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(CodecBenchmarks).Assembly).Run(args);
return 0;

static void PrintRatios()
{
    const int W = CodecBenchmarks.Width, H = CodecBenchmarks.Height;
    var d = BitmapDescriptor.Rgb32(W, H);
    var dst = new byte[QuicImageEncoder.GetMaxEncodedLength(W, H, QuicImageType.Rgb32)];
    Console.WriteLine("| image | codec | bytes | ratio (raw 32-bit / encoded) |");
    Console.WriteLine("|---|---|---|---|");
    foreach (string image in new[] { "plasma", "text" })
    {
        byte[] px = CodecBenchmarks.MakeImage(image);
        void Row(string codec, int n) => Console.WriteLine($"| {image} | {codec} | {n} | {(double)px.Length / n:F2} |");
        QuicImageEncoder.TryEncode(px, d, dst, out int q);
        Row("QUIC", q);
        LzEncoder.TryEncode(px, d, dst, out int l);
        Row("LZ", l);
        using var dict = new GlzEncoderDictionary(new GlzEncoderOptions { WindowPixels = 4L * W * H });
        dict.Encode(px, d, dst, out int g, out _);
        Row("GLZ (first image)", g);
        var z = new byte[ZlibGlzCodec.GetMaxEncodedLength(g)];
        ZlibGlzCodec.Compress(dst.AsSpan(0, g), z, out int zl);
        Row("ZLIB_GLZ (first image)", zl);
        Lz4ImageCodec.Encode(px, d, dst, out int l4);
        Row("LZ4", l4);
        if (JpegCodec.IsSupported)
        {
            JpegCodec.Encode(px, d, dst, out int j);
            Row("JPEG q85 (lossy)", j);
        }
    }
}
