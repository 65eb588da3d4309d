using Akka.Actor;
using static Multiproc.Actors.Actors.QueueProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>
/// The one sender and reply address of every queue request a process makes: replies complete the
/// waiting calls by request id. One sender per process also keeps each producer's puts in order,
/// since Akka orders messages per sender and receiver. It also watches every queue it has talked
/// to, so that calls waiting on a queue actor that stopped fail instead of waiting for ever.
/// </summary>
internal sealed class QueueReplyActor : ReceiveActor
{
    private readonly HashSet<IActorRef> _watched = new();

    /// <param name="complete">Called with each reply and its sender.</param>
    /// <param name="gone">Called when a watched queue actor has stopped.</param>
    public QueueReplyActor(Action<IReply, IActorRef> complete, Action<IActorRef> gone)
    {
        Receive<IReply>(reply => complete(reply, Sender));
        Receive<WatchQueue>(watch =>
        {
            if (_watched.Add(watch.Queue))
                Context.Watch(watch.Queue);
        });
        Receive<Terminated>(terminated =>
        {
            _watched.Remove(terminated.ActorRef);
            gone(terminated.ActorRef);
        });
    }

    public static Props Props(Action<IReply, IActorRef> complete, Action<IActorRef> gone) =>
        Akka.Actor.Props.Create(() => new QueueReplyActor(complete, gone));

    /// <summary>Watch this queue actor (local only: sent by the client of this process).</summary>
    public sealed record WatchQueue(IActorRef Queue) : ILocalOnly;
}
