using NetemLink;

namespace Netem.Tests;

public sealed class TopologyTests
{
    [Fact]
    public void Topology_Dispose_LeavesNoNamespaces()
    {
        Lab.RequireNamespaces();
        var p = new DirectionParameters { DelayMs = 1 };
        var t = Topology.Create(p, p);
        var br = t.BranchNs;
        var dc = t.DataCentreNs;
        Assert.Contains(br, Topology.ListOwnNamespaces());

        t.Dispose();

        var left = Topology.ListOwnNamespaces();
        Assert.DoesNotContain(br, left);
        Assert.DoesNotContain(dc, left);
    }

    [Fact]
    public void Topology_TwoAtOnce_UseDistinctIds()
    {
        Lab.RequireNamespaces();
        var p = new DirectionParameters();
        using var a = Topology.Create(p, p);
        using var b = Topology.Create(p, p);

        Assert.NotEqual(a.BranchNs, b.BranchNs);
        Assert.StartsWith(Topology.BranchPrefix, a.BranchNs, StringComparison.Ordinal);
    }
}
