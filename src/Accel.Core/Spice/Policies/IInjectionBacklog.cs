namespace Accel.Core.Spice.Policies;

/// <summary>An injector that tells how many injected bytes still wait to be written (the relay's <c>LegWriter</c>).</summary>
internal interface IInjectionBacklog
{
    int PendingBytes { get; }
}
