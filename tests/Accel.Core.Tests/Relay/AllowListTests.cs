using System.Net;
using Accel.Core.Relay;
using Accel.Core.Edges;

namespace Accel.Core.Tests.Relay;

public class AllowListTests
{
    [Theory]
    [InlineData("10.0.0.0/8:5900-5999", "10.1.2.3", 5930, true)]
    [InlineData("10.0.0.0/8:5900-5999", "10.1.2.3", 6000, false)]
    [InlineData("10.0.0.0/8:5900-5999", "11.1.2.3", 5930, false)]
    [InlineData("127.0.0.1:5930", "127.0.0.1", 5930, true)]
    [InlineData("127.0.0.1:5930", "127.0.0.2", 5930, false)]
    [InlineData("[fd00::/8]:5900", "fd12::1", 5900, true)]
    [InlineData("[fd00::/8]:5900", "fe80::1", 5900, false)]
    [InlineData("192.168.0.0/16:*", "192.168.9.9", 1, true)]
    [InlineData("10.0.0.0/8:5900", "::ffff:10.0.0.1", 5900, true)]
    public void Permits_Entry_MatchesAddressAndPort(string entry, string address, int port, bool expected)
    {
        var list = new AllowList([entry]);
        Assert.Equal(expected, list.Permits(IPAddress.Parse(address), port));
    }

    [Fact]
    public void Permits_EmptyList_RefusesEverything()
    {
        Assert.False(new AllowList([]).Permits(IPAddress.Loopback, 5900));
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0.0/8")]
    [InlineData("10.0.0.0/33:5900")]
    [InlineData("host.example:5900")]
    [InlineData("10.0.0.0/8:0")]
    [InlineData("10.0.0.0/8:70000")]
    [InlineData("10.0.0.0/8:5999-5900")]
    [InlineData("[fd00::/8:5900")]
    public void Validate_BadEntry_ThrowsFormatExceptionNamingIt(string entry)
    {
        var ex = Assert.Throws<FormatException>(() => AllowList.Validate(entry));
        Assert.False(string.IsNullOrEmpty(ex.Message));
    }
}
