using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Spice.Codecs.Tests.Support;

/// <summary>Reads binary PPM files (P6, maxval 255, optionally gzipped), as spice-gtk's spicy-screenshot writes them.</summary>
public static class Ppm
{
    /// <summary>The image as top-down, tightly packed BGRX with the pad byte 0.</summary>
    public static byte[] ReadBgrx(string path, out int width, out int height)
    {
        byte[] data;
        using (Stream file = File.OpenRead(path))
        using (Stream input = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file)
        using (var buffer = new MemoryStream())
        {
            input.CopyTo(buffer);
            data = buffer.ToArray();
        }

        int pos = 0;
        string magic = Token(data, ref pos);
        width = int.Parse(Token(data, ref pos), CultureInfo.InvariantCulture);
        height = int.Parse(Token(data, ref pos), CultureInfo.InvariantCulture);
        string maxval = Token(data, ref pos);
        pos++;
        if (magic != "P6" || maxval != "255" || width <= 0 || height <= 0 || data.Length - pos < (long)width * height * 3)
        {
            throw new InvalidDataException($"{path}: not a binary 8-bit PPM");
        }

        var pixels = new byte[width * height * 4];
        for (int i = 0, s = pos; i < width * height; i++, s += 3)
        {
            pixels[4 * i] = data[s + 2];
            pixels[4 * i + 1] = data[s + 1];
            pixels[4 * i + 2] = data[s];
        }

        return pixels;
    }

    private static string Token(byte[] data, ref int pos)
    {
        while (pos < data.Length && (char.IsWhiteSpace((char)data[pos]) || data[pos] == '#'))
        {
            if (data[pos] == '#')
            {
                while (pos < data.Length && data[pos] != '\n')
                {
                    pos++;
                }
            }
            else
            {
                pos++;
            }
        }

        int start = pos;
        while (pos < data.Length && !char.IsWhiteSpace((char)data[pos]))
        {
            pos++;
        }

        return Encoding.ASCII.GetString(data, start, pos - start);
    }
}
