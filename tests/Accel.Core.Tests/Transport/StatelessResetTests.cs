using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport.Ngtcp2;

namespace Accel.Core.Tests.Transport;

public sealed class StatelessResetTests
{
    private static readonly byte[] s_cid = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

    [Fact]
    public void Token_FromTheSameIdentity_IsTheSameAfterARestart()
    {
        var before = new byte[16];
        var after = new byte[16];
        StatelessReset.FromIdentity(TestIdentities.Server).Token(s_cid, before);
        StatelessReset.FromIdentity(TestIdentities.Server).Token(s_cid, after);

        Assert.Equal(before, after);
        Assert.NotEqual(new byte[16], before);
    }

    [Fact]
    public void Token_DiffersByIdentityAndByConnectionId()
    {
        var server = new byte[16];
        var stranger = new byte[16];
        var otherCid = new byte[16];
        StatelessReset.FromIdentity(TestIdentities.Server).Token(s_cid, server);
        StatelessReset.FromIdentity(TestIdentities.Stranger).Token(s_cid, stranger);
        StatelessReset.FromIdentity(TestIdentities.Server).Token(s_cid.Reverse().ToArray(), otherCid);

        Assert.NotEqual(server, stranger);
        Assert.NotEqual(server, otherCid);
    }
}
