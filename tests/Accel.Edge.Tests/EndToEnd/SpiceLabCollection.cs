namespace Accel.Edge.Tests.EndToEnd;

/// <summary>One lab (namespaces, Xspice, both edges) shared by every end-to-end test; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class SpiceLabCollection : ICollectionFixture<SpiceLabFixture>
{
    public const string Name = "spice-lab";
}
