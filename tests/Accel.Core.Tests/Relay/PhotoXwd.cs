using System.Buffers.Binary;

namespace Accel.Core.Tests.Relay;

/// <summary>A photo-like 24-bit TrueColor XWD file (smooth gradients plus texture) for xwud to show on Xspice.</summary>
internal static class PhotoXwd
{
    /// <summary>Deletes the file on dispose.</summary>
    internal sealed class TempFile(string path) : IDisposable
    {
        public string Path { get; } = path;

        public void Dispose() => File.Delete(Path);
    }

    public static TempFile Create(int width, int height) => new(Write(width, height));

    public static string Write(int width, int height)
    {
        var path = Path.Combine(Path.GetTempPath(), $"display-photo-{Environment.ProcessId}-{width}x{height}.xwd");
        byte[] name = "photo\0"u8.ToArray();
        uint[] header =
        [
            (uint)(100 + name.Length), 7, 2, 24, (uint)width, (uint)height, 0, 0, 32, 0, 32, 32, (uint)width * 4, 4,
            0xFF0000, 0xFF00, 0xFF, 8, 0, 0, (uint)width, (uint)height, 0, 0, 0,
        ];
        var file = new byte[100 + name.Length + width * height * 4];
        for (int i = 0; i < header.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(i * 4), header[i]);
        }

        name.CopyTo(file, 100);
        int p = 100 + name.Length;
        var random = new Random(7);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                // Smooth gradients with a little sensor-like noise: photo-like for the server's and our heuristics.
                file[p++] = Clamp(120 + 90 * Math.Sin((x + y) / 41.0) + random.Next(-4, 5));
                file[p++] = Clamp(127 + 100 * Math.Sin(x / 23.0 - y / 31.0) + random.Next(-4, 5));
                file[p++] = Clamp(127 + 110 * Math.Sin(x / 37.0 + y / 19.0) + random.Next(-4, 5));
                file[p++] = 0;
            }
        }

        File.WriteAllBytes(path, file);
        return path;
    }

    private static byte Clamp(double v) => (byte)Math.Clamp((int)v, 0, 255);
}
