using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Accel.Edge.Demo;

/// <summary>An RGB image as spicy-screenshot writes it (binary PPM, P6, maxval 255).</summary>
internal sealed record RgbImage(int Width, int Height, byte[] Rgb)
{
    public static RgbImage ReadPpm(string path)
    {
        var data = File.ReadAllBytes(path);
        var pos = 0;
        string Token()
        {
            while (pos < data.Length)
            {
                if (data[pos] == '#')
                {
                    while (pos < data.Length && data[pos] != '\n')
                    {
                        pos++;
                    }
                }
                else if (char.IsWhiteSpace((char)data[pos]))
                {
                    pos++;
                }
                else
                {
                    break;
                }
            }

            var start = pos;
            while (pos < data.Length && !char.IsWhiteSpace((char)data[pos]))
            {
                pos++;
            }

            return Encoding.ASCII.GetString(data, start, pos - start);
        }

        if (Token() != "P6")
        {
            throw new InvalidDataException($"{path} is not a binary PPM");
        }

        var w = int.Parse(Token(), CultureInfo.InvariantCulture);
        var h = int.Parse(Token(), CultureInfo.InvariantCulture);
        var max = int.Parse(Token(), CultureInfo.InvariantCulture);
        if (max != 255 || w <= 0 || h <= 0 || (long)w * h * 3 > data.Length - pos - 1)
        {
            throw new InvalidDataException($"{path}: unsupported PPM {w}x{h} max {max}");
        }

        pos++;
        return new RgbImage(w, h, data.AsSpan(pos, w * h * 3).ToArray());
    }

    /// <summary>Pixels that differ between two images of the same size (any channel).</summary>
    public int CountDifferentPixels(RgbImage other)
    {
        if (other.Width != Width || other.Height != Height)
        {
            return Width * Height;
        }

        var diff = 0;
        for (var i = 0; i < Rgb.Length; i += 3)
        {
            if (Rgb[i] != other.Rgb[i] || Rgb[i + 1] != other.Rgb[i + 1] || Rgb[i + 2] != other.Rgb[i + 2])
            {
                diff++;
            }
        }

        return diff;
    }

    /// <summary>How many distinct colours appear (a blank screen has one or two).</summary>
    public int DistinctColours(int cap = 64)
    {
        var seen = new HashSet<int>();
        for (var i = 0; i < Rgb.Length && seen.Count < cap; i += 3)
        {
            seen.Add((Rgb[i] << 16) | (Rgb[i + 1] << 8) | Rgb[i + 2]);
        }

        return seen.Count;
    }

    public void WritePng(string path)
    {
        using var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], Height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // truecolour
        WriteChunk(file, "IHDR"u8, ihdr);
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Fastest, leaveOpen: true))
        {
            for (var y = 0; y < Height; y++)
            {
                z.WriteByte(0);
                z.Write(Rgb, y * Width * 3, Width * 3);
            }
        }

        WriteChunk(file, "IDAT"u8, raw.ToArray());
        WriteChunk(file, "IEND"u8, []);
    }

    private static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        s.Write(type);
        s.Write(data);
        var crc = Crc32.Update(Crc32.Update(0xFFFFFFFFu, type), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(len, crc);
        s.Write(len);
    }

    private static class Crc32
    {
        private static readonly uint[] s_table = Build();

        public static uint Update(uint crc, ReadOnlySpan<byte> data)
        {
            foreach (var b in data)
            {
                crc = s_table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }

            return crc;
        }

        private static uint[] Build()
        {
            var t = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                var c = n;
                for (var k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                }

                t[n] = c;
            }

            return t;
        }
    }
}

/// <summary>spice-gtk's spicy-screenshot: connect, wait for the display, write a PPM, exit.</summary>
internal static class SpicyScreenshot
{
    public static bool IsInstalled => File.Exists("/usr/bin/spicy-screenshot");

    /// <summary>Takes a screenshot through a SPICE address; returns the image and how long it took.</summary>
    public static async Task<(RgbImage Image, TimeSpan Elapsed)> CaptureAsync(string host, int port, string outFile, TimeSpan timeout, CancellationToken cancellationToken, string? netns = null, IReadOnlyDictionary<string, string>? environment = null, int securePort = 0)
    {
        if (!IsInstalled)
        {
            throw new InvalidOperationException("spicy-screenshot is not installed (Debian package spice-client-gtk; run eng/setup.sh)");
        }

        File.Delete(outFile);
        var psi = new ProcessStartInfo { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        var args = new List<string>();
        if (netns is not null)
        {
            psi.FileName = "ip";
            args.AddRange(["netns", "exec", netns, "spicy-screenshot"]);
        }
        else
        {
            psi.FileName = "spicy-screenshot";
        }

        args.AddRange(["-h", host, "-o", outFile]);
        if (port != 0)
        {
            args.AddRange(["-p", port.ToString(CultureInfo.InvariantCulture)]);
        }

        if (securePort != 0)
        {
            args.AddRange(["-s", securePort.ToString(CultureInfo.InvariantCulture)]);
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                psi.Environment[k] = v;
            }
        }

        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync(cancellationToken);
        _ = p.StandardOutput.ReadToEndAsync(cancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"spicy-screenshot via {host}:{port} did not finish within {timeout.TotalSeconds} s");
        }

        sw.Stop();
        var err = await stderr.ConfigureAwait(false);
        if (p.ExitCode != 0 || !File.Exists(outFile))
        {
            throw new InvalidOperationException($"spicy-screenshot via {host}:{port} failed ({p.ExitCode}): {err.Trim()}");
        }

        return (RgbImage.ReadPpm(outFile), sw.Elapsed);
    }
}
