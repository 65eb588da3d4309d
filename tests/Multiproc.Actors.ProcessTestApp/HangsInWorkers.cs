using Akka.Actor;
using Akka.Serialization;

/// <summary>
/// A serializer that never finishes being built in a worker process (the caller builds it at once):
/// a worker's actor system start that hangs, as one starved under a process or thread limit does.
/// </summary>
internal sealed class HangsInWorkers : Serializer
{
    public HangsInWorkers(ExtendedActorSystem system)
        : base(system)
    {
        if (Environment.GetCommandLineArgs().Contains("Multiproc.Actors.Worker"))
            Thread.Sleep(Timeout.Infinite);
    }

    public override int Identifier => 7_000_123;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) => throw new NotSupportedException();

    public override object FromBinary(byte[] bytes, Type? type) => throw new NotSupportedException();
}
