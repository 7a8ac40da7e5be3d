namespace Accel.Edge;

internal static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("spiceaccel: not yet wired");
        return args.Length == 0 ? 1 : 1;
    }
}
