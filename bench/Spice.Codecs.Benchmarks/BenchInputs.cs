using Spice.Codecs.Jpeg;
using Spice.Codecs.Tests.Support;

namespace Spice.Codecs.Benchmarks;

/// <summary>A benchmark input: top-down, tightly packed BGRX with the pad byte 0 (as spice-server's 32-bit surfaces).</summary>
internal sealed record BenchImage(string Name, int Width, int Height, byte[] Pixels);

/// <summary>
/// Loads the inputs of the C comparison: <c>gen:plasma</c>, <c>gen:text</c> (tests' TestImages), <c>gen:photo</c>
/// (bench/netem's photo-like slideshow picture), binary PPM files (optionally gzipped, as spicy-screenshot writes them)
/// and JPEG files (decoded with libturbojpeg).
/// </summary>
internal static class BenchInputs
{
    public static BenchImage Load(string spec, int width, int height)
    {
        return spec switch
        {
            "gen:plasma" => new("plasma (generated)", width, height, TestImages.Rgb32(TestImages.Kind.Plasma, width, height, seed: 42)),
            "gen:text" => new("text (generated)", width, height, ClearPad(TestImages.Rgb32(TestImages.Kind.Text, width, height, seed: 42))),
            "gen:photo" => new("photo (generated)", width, height, Photo(width, height)),
            _ when spec.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || spec.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase) => Jpeg(spec),
            _ => Ppm(spec),
        };
    }

    private static byte[] ClearPad(byte[] bgrx)
    {
        for (int i = 3; i < bgrx.Length; i += 4)
        {
            bgrx[i] = 0;
        }

        return bgrx;
    }

    private static unsafe byte[] Photo(int width, int height)
    {
        var pixels = new byte[width * height * 4];
        fixed (byte* p = pixels)
        {
            NetemDesk.Photos.Render((uint*)p, width, height, seed: 3);
        }

        return pixels;
    }

    private static BenchImage Jpeg(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        if (JpegCodec.TryReadSize(data, out int width, out int height) != OperationStatus.Done)
        {
            throw new InvalidDataException($"{path}: not a JPEG");
        }

        var pixels = new byte[width * height * 4];
        if (JpegCodec.Decode(data, width, height, pixels, width * 4) != OperationStatus.Done)
        {
            throw new InvalidDataException($"{path}: JPEG decode failed");
        }

        return new(Path.GetFileName(path), width, height, ClearPad(pixels));
    }

    private static BenchImage Ppm(string path)
    {
        byte[] pixels = Tests.Support.Ppm.ReadBgrx(path, out int width, out int height);
        string name = Path.GetFileName(path);
        return new(name[..name.IndexOf('.', StringComparison.Ordinal)], width, height, pixels);
    }
}
