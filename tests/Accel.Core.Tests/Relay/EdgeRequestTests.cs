using System.Buffers;
using Accel.Core.Relay;
using Accel.Core.Transport;
using Accel.Core.Edges;

namespace Accel.Core.Tests.Relay;

public class EdgeRequestTests
{
    [Fact]
    public void TryParse_RoundTrip_SplitAtEveryByte_ParsesOnlyWhenComplete()
    {
        var request = new EdgeRequest("spice.example", 5930, ChannelClasses.Input, 3);
        var bytes = new byte[EdgeRequest.MaxLength + 5];
        var n = request.Write(bytes);
        "tail!"u8.CopyTo(bytes.AsSpan(n));

        for (var cut = 0; cut < n; cut++)
        {
            Assert.False(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, cut), out _, out _, out var error));
            Assert.Null(error);
        }

        Assert.True(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n + 5), out var parsed, out var consumed, out _));
        Assert.Equal(request, parsed);
        Assert.Equal(n, consumed);
    }

    [Fact]
    public void OptionalFlags_RoundTrip_AndAnUnknownFlagIsRefusedWithTheReasonClientEdgesRecognise()
    {
        var request = new EdgeRequest("spice.example", 5930, ChannelClasses.Input, 2, EdgeRequest.PreviewsFlag);
        var bytes = new byte[EdgeRequest.MaxLength];
        var n = request.Write(bytes);
        Assert.True(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out var parsed, out _, out _));
        Assert.True(parsed.TakesPreviews);
        Assert.False(parsed.SendsInputDatagrams);
        Assert.False(parsed.IsOpaqueTarget);

        bytes[5] = EdgeRequest.InputDatagramsFlag;
        Assert.True(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out parsed, out _, out _));
        Assert.True(parsed.SendsInputDatagrams);
        Assert.False(parsed.TakesPreviews);

        bytes[5] = 0x40; // a flag no version knows
        Assert.False(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out _, out _, out var error));
        Assert.Equal("unknown flags 0x40", error);
        Assert.True(EdgeRequest.IsUnknownFlagsRefusal(EdgeStatus.BadRequest, error!));
        Assert.False(EdgeRequest.IsUnknownFlagsRefusal(EdgeStatus.NotAllowed, error!));
    }

    [Fact]
    public void ResumableAndResume_RoundTripTheirTokenAndOffset_AndBothAtOnceAreRefused()
    {
        var token = Enumerable.Range(1, EdgeRequest.TokenLength).Select(i => (byte)i).ToArray();
        var bytes = new byte[EdgeRequest.MaxLength];
        var open = new EdgeRequest("spice.example", 5930, ChannelClasses.Input, 3, EdgeRequest.ResumableFlag) { Token = token };
        var n = open.Write(bytes);
        Assert.True(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out var parsed, out var consumed, out _));
        Assert.Equal(n, consumed);
        Assert.True(parsed.IsResumable);
        Assert.Equal(token, parsed.Token.ToArray());
        Assert.False(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n - 1), out _, out _, out var incomplete));
        Assert.Null(incomplete);

        var resume = open with { Flags = EdgeRequest.ResumeFlag, ResumeOffset = 123_456_789_012 };
        n = resume.Write(bytes);
        Assert.True(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out parsed, out consumed, out _));
        Assert.Equal(n, consumed);
        Assert.True(parsed.IsResume);
        Assert.Equal(123_456_789_012, parsed.ResumeOffset);
        Assert.Equal(token, parsed.Token.ToArray());

        bytes[5] = EdgeRequest.ResumeFlag | EdgeRequest.ResumableFlag;
        Assert.False(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out _, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void TryParse_Garbage_ReportsErrorAndNeverThrows()
    {
        var random = new Random(1234);
        var buffer = new byte[300];
        var errors = 0;
        for (var i = 0; i < 5000; i++)
        {
            random.NextBytes(buffer);
            if (i % 3 == 0)
            {
                "SAE1"u8.CopyTo(buffer);
                buffer[4] = 1;
            }

            var len = random.Next(0, buffer.Length);
            var ok = EdgeRequest.TryParse(new ReadOnlySequence<byte>(buffer, 0, len), out _, out _, out var error);
            if (!ok && error is not null)
            {
                errors++;
            }
        }

        Assert.True(errors > 1000, "garbage must be reported as malformed");
    }

    [Fact]
    public void Response_RoundTrip_KeepsStatusAndReason()
    {
        var buffer = new byte[EdgeRequest.MaxResponseLength];
        var n = EdgeRequest.WriteResponse(buffer, EdgeStatus.NotAllowed, "10.0.0.1:22 is not in the allow-list");
        Assert.True(EdgeRequest.TryParseResponse(buffer.AsSpan(0, n), out var status, out var reason, out var consumed));
        Assert.Equal(EdgeStatus.NotAllowed, status);
        Assert.Equal("10.0.0.1:22 is not in the allow-list", reason);
        Assert.Equal(n, consumed);
        Assert.False(EdgeRequest.TryParseResponse(buffer.AsSpan(0, n - 1), out _, out _, out _));
    }

    [Fact]
    public void Write_HostTooLong_Throws()
    {
        var request = new EdgeRequest(new string('a', 256), 1, ChannelClasses.Bulk, 0);
        Assert.Throws<ArgumentException>(() => request.Write(new byte[600]));
    }

    [Fact]
    public void TryParse_OpaqueTarget_RoundTripsVerbatimSplitAtEveryByte()
    {
        const string target = "pvespiceproxy:6571ab2c::e3b0c44298fc1c149afbf4c8996fb92427ae41e4:100:pve1:61000";
        var request = EdgeRequest.ForOpaqueTarget(target, ChannelClasses.Main, 0);
        var bytes = new byte[EdgeRequest.MaxLength];
        var n = request.Write(bytes);
        for (var cut = 0; cut < n; cut++)
        {
            Assert.False(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, cut), out _, out _, out var error));
            Assert.Null(error);
        }

        Assert.True(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out var parsed, out var consumed, out _));
        Assert.Equal(n, consumed);
        Assert.True(parsed.IsOpaqueTarget);
        Assert.Equal(target, parsed.Host);
        Assert.Equal(61000, parsed.Port);
        Assert.Equal("pvespiceproxy:…", parsed.LogName);
    }

    [Fact]
    public void TryParse_UnknownFlagOrNonPrintableOpaqueTarget_IsMalformed()
    {
        var bytes = new byte[EdgeRequest.MaxLength];
        var n = new EdgeRequest("10.0.0.1", 5900, ChannelClasses.Main, 1, Flags: 0x80).Write(bytes);
        Assert.False(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out _, out _, out var error));
        Assert.Equal("unknown flags 0x80", error);

        n = new EdgeRequest("a b\u0001", 0, ChannelClasses.Main, 0, EdgeRequest.OpaqueTargetFlag).Write(bytes);
        Assert.False(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out _, out _, out error));
        Assert.Equal("opaque target is not printable ASCII", error);
    }

    [Fact]
    public void TryParse_PlainRequest_StillHasNoFlagsAndIsNotOpaque()
    {
        var bytes = new byte[EdgeRequest.MaxLength];
        var n = new EdgeRequest("10.0.0.1", 5900, ChannelClasses.Main, 1).Write(bytes);
        Assert.Equal(0, bytes[5]);
        Assert.True(EdgeRequest.TryParse(new ReadOnlySequence<byte>(bytes, 0, n), out var parsed, out _, out _));
        Assert.False(parsed.IsOpaqueTarget);
        Assert.Equal("10.0.0.1", parsed.LogName);
    }
}
