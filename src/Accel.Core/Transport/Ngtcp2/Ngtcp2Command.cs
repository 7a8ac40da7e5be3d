namespace Accel.Core.Transport.Ngtcp2;

/// <summary>What the application asks of the loop.</summary>
internal enum Ngtcp2CommandKind
{
    Data,
    Credit,
    AbortWrite,
    AbortRead,
    Open,
    Close,
    Abort,
}

internal readonly record struct Ngtcp2Command(Ngtcp2CommandKind Kind, Ngtcp2Stream? Stream, long Code, object? State);
