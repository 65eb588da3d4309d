using System.Net.Security;
using Akka.Event;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Worker;
using Xunit;

namespace Multiproc.Actors.Tests.Configuration;

public sealed class TransportKeyTests
{
    [Fact]
    public void A_worker_rebuilds_from_its_handshake_the_key_that_pins_the_same_peers()
    {
        var key = TransportKey.Create();
        var start = new WorkerHandshake("token", Convert.ToBase64String(key.Pfx), "", "a = 1").EncodeStart();

        var read = WorkerHandshake.ReadStart(new StringReader(start))!;
        var received = TransportKey.FromPfx(Convert.FromBase64String(read.Key));

        Assert.Equal("token", read.Token);
        Assert.Equal("a = 1", read.Config);
        Assert.True(received.Certificate.HasPrivateKey);
        Assert.True(key.IsPeer(received.Certificate, null, "peer", SslPolicyErrors.RemoteCertificateChainErrors, null));
    }

    [Fact]
    public void Only_the_same_certificate_passes_the_pin_whatever_its_name()
    {
        var key = TransportKey.Create();
        var other = TransportKey.Create();

        Assert.False(key.IsPeer(other.Certificate, null, "peer", SslPolicyErrors.None, null));
        Assert.False(key.IsPeer(null, null, "peer", SslPolicyErrors.RemoteCertificateNotAvailable, null));
    }
}

public sealed class StrangerLogFilterTests
{
    private static readonly LogFilterBase Filter = StrangerLogFilter.Instance;

    [Fact]
    public void A_flood_of_refused_handshakes_leaves_one_warning_and_no_errors()
    {
        var kept = 0;
        for (var i = 0; i < 1000; i++)
        {
            var warning = new Warning("TcpServerHandler (akka://multiproc)", typeof(object),
                $"Rejected incoming connection from [[::ffff:127.0.0.1]:{40000 + i}] due to TLS handshake failure. This is likely invalid or malicious traffic.");
            if (Filter.ShouldKeepMessage(warning) == LogFilterDecision.Keep)
                kept++;
            Assert.Equal(LogFilterDecision.Drop, Filter.ShouldKeepMessage(new Error(null, "TcpServerHandler", typeof(object), "TLS handshake failed on channel [x]\nnot an SSL/TLS record: 0102")));
            Assert.Equal(LogFilterDecision.Drop, Filter.ShouldKeepMessage(new Error(
                new System.Security.Authentication.AuthenticationException("rejected"), "TcpServerHandler", typeof(object), "Error caught channel [x](Id=1)")));
        }

        Assert.True(kept <= 1, $"{kept} warnings kept");
    }

    [Fact]
    public void A_connection_closed_during_its_handshake_logs_nothing()
    {
        // What a retiring worker leaves behind: a reconnect cut short by its own exit.
        var error = new Error(null, "TcpServerHandler (akka://multiproc)", typeof(object),
            "TLS handshake failed on channel [[::ffff:127.0.0.1]:38479->[::ffff:127.0.0.1]:53734](Id=0ead67f4)\nTLS handshake failed (Server side):\n  Error: Channel is closed");
        var warning = new Warning("TcpServerHandler (akka://multiproc)", typeof(object),
            "Rejected incoming connection from [[::ffff:127.0.0.1]:53734] due to TLS handshake failure. This is likely invalid or malicious traffic.");

        Assert.Equal(LogFilterDecision.Drop, Filter.ShouldKeepMessage(error));
        Assert.Equal(LogFilterDecision.Drop, Filter.ShouldKeepMessage(warning));
    }

    [Fact]
    public void Other_errors_of_the_transport_are_kept()
    {
        Assert.Equal(LogFilterDecision.Keep, Filter.ShouldKeepMessage(new Error(new IOException("reset"), "TcpServerHandler", typeof(object), "Error caught channel [x](Id=1)")));
        Assert.Equal(LogFilterDecision.Keep, Filter.ShouldKeepMessage(new Warning("x", typeof(object), "Association with remote system failed")));
    }
}
