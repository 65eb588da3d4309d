using Akka.Configuration;
using Multiproc.Actors.Configuration;

namespace Multiproc.Actors.Tests;

/// <summary>
/// The base of actor specs: the library's configuration, remoting on port 0, and
/// <c>serialize-messages = on</c>, so every message a spec sends is proven to survive the wire.
/// </summary>
public abstract class MultiprocSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Config SpecConfig = ConfigurationFactory.ParseString("""
        akka.actor.serialize-messages = on
        akka.remote.dot-netty.tcp.port = 0
        akka.loglevel = WARNING
        """).WithFallback(MultiprocConfig.Default);

    protected MultiprocSpec()
        : base(SpecConfig)
    {
    }
}
