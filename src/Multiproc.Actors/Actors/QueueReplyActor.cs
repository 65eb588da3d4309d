using Akka.Actor;
using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>
/// The one sender and reply address of every queue request a process makes: replies complete the
/// waiting calls by request id. One sender per process also keeps each producer's puts in order,
/// since Akka orders messages per sender and receiver.
/// </summary>
internal sealed class QueueReplyActor : ReceiveActor
{
    public QueueReplyActor(Action<IReply> complete)
    {
        Receive<IReply>(complete);
    }

    public static Props Props(Action<IReply> complete) => Akka.Actor.Props.Create(() => new QueueReplyActor(complete));
}
