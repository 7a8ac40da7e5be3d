namespace NetemDesk;

/// <summary>
/// Deterministic photo-like images: smooth colour gradients, soft blobs and a little grain, so that neither a
/// lossless coder nor a cache finds them trivial (as with real photographs and video).
/// </summary>
public static unsafe class Photos
{
    /// <summary>The seed of the slideshow's photo number <paramref name="index"/>.</summary>
    public static int SlideshowSeed(int index) => 1000 + index;

    /// <summary>Photo number <paramref name="seed"/> as a new array of 0x00RRGGBB pixels (what the probe compares the client's picture with).</summary>
    public static uint[] Render(int width, int height, int seed)
    {
        var pixels = new uint[checked(width * height)];
        fixed (uint* p = pixels)
        {
            Render(p, width, height, seed);
        }

        return pixels;
    }

    /// <summary>Fills <paramref name="pixels"/> (0x00RRGGBB) with image number <paramref name="seed"/>.</summary>
    public static void Render(uint* pixels, int width, int height, int seed)
    {
        var rng = new Random(seed);
        var phase = new double[6];
        for (var i = 0; i < phase.Length; i++)
        {
            phase[i] = rng.NextDouble() * Math.Tau;
        }

        const int BlobCount = 7;
        var blobs = new (double X, double Y, double R2, double Cr, double Cg, double Cb)[BlobCount];
        for (var i = 0; i < BlobCount; i++)
        {
            var radius = (0.08 + (rng.NextDouble() * 0.25)) * Math.Max(width, height);
            blobs[i] = (rng.NextDouble() * width, rng.NextDouble() * height, radius * radius,
                (rng.NextDouble() * 160) - 60, (rng.NextDouble() * 160) - 60, (rng.NextDouble() * 160) - 60);
        }

        var grain = (uint)(seed * 2654435761u) | 1u;
        for (var y = 0; y < height; y++)
        {
            var fy = (double)y / height;
            for (var x = 0; x < width; x++)
            {
                var fx = (double)x / width;
                var r = 70 + (110 * fy) + (35 * Math.Sin((fx * 5.1) + phase[0])) + (20 * Math.Sin((fy * 9.3) + phase[1]));
                var g = 60 + (90 * (1 - fy)) + (40 * Math.Sin((fx * 3.7) + (fy * 2.9) + phase[2]));
                var b = 90 + (80 * fx) + (30 * Math.Sin((fy * 6.1) + phase[3])) + (15 * Math.Sin((fx * 17.0) + phase[4]));
                foreach (var blob in blobs)
                {
                    var dx = x - blob.X;
                    var dy = y - blob.Y;
                    var d2 = (dx * dx) + (dy * dy);
                    if (d2 < 4 * blob.R2)
                    {
                        var w = Math.Exp(-d2 / blob.R2);
                        r += blob.Cr * w;
                        g += blob.Cg * w;
                        b += blob.Cb * w;
                    }
                }

                // xorshift32 grain of ±6 levels.
                grain ^= grain << 13;
                grain ^= grain >> 17;
                grain ^= grain << 5;
                var n = (int)(grain % 13) - 6;
                pixels[((long)y * width) + x] = ((uint)Clamp(r + n) << 16) | ((uint)Clamp(g + n) << 8) | (uint)Clamp(b + n);
            }
        }
    }

    private static byte Clamp(double v) => (byte)Math.Clamp((int)v, 0, 255);
}
