using Accel.Fuzz;
using System.Runtime.InteropServices;
using SharpFuzz;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Accel.Fuzz --list                   the targets, one a line: name, what it feeds
// Accel.Fuzz --write-seeds DIR        writes every target's seed corpus to DIR/NAME/
// Accel.Fuzz TARGET                   runs TARGET under afl-fuzz (input on stdin; once without afl-fuzz)
// Accel.Fuzz TARGET FILE...           replays inputs (a crash or a corpus) without afl-fuzz; exit 1 on a crash
// eng/fuzz.sh builds this program, instruments the product's assemblies with sharpfuzz and starts afl-fuzz.
// The instrumented assemblies record coverage through SharpFuzz's trace map, which afl-fuzz's shared memory becomes
// once Fuzzer.Run starts. Until then (target set-up, --list, replays) they write to a private map.
unsafe
{
    SharpFuzz.Common.Trace.SharedMem = (byte*)NativeMemory.AllocZeroed(1 << 16);
}

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Accel.Fuzz --list | --write-seeds DIR | TARGET [FILE...]");
    return 2;
}

if (args[0] == "--list")
{
    foreach (var t in FuzzTargets.All)
    {
        Console.WriteLine($"{t.Name,-22} {t.What}");
    }

    return 0;
}

if (args[0] == "--write-seeds" && args.Length == 2)
{
    foreach (var t in FuzzTargets.All)
    {
        var dir = Path.Combine(args[1], t.Name);
        Directory.CreateDirectory(dir);
        var n = 0;
        foreach (var seed in t.Seeds())
        {
            File.WriteAllBytes(Path.Combine(dir, $"seed-{n++:D2}"), seed);
        }

        Console.WriteLine($"{t.Name}: {n} seeds");
    }

    return 0;
}

var target = FuzzTargets.Find(args[0]);
if (target is null)
{
    Console.Error.WriteLine($"unknown target '{args[0]}' (--list shows them)");
    return 2;
}

if (args.Length > 1)
{
    var crashes = 0;
    foreach (var file in args.Skip(1).SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]))
    {
        try
        {
            target.Run(File.ReadAllBytes(file));
        }
        catch (Exception ex)
        {
            crashes++;
            Console.WriteLine($"CRASH {file}: {ex}");
        }
    }

    return crashes == 0 ? 0 : 1;
}

var buffer = new byte[1 << 20];
Fuzzer.Run(stream =>
{
    var length = 0;
    int n;
    while (length < buffer.Length && (n = stream.Read(buffer, length, buffer.Length - length)) > 0)
    {
        length += n;
    }

    target.Run(buffer.AsSpan(0, length));
});
return 0;
