using Akka.Actor;
using Akka.Util;

namespace Multiproc.Actors.Queues;

/// <summary>
/// What a <see cref="SimpleQueue{T}"/> serializes to: its queue actor and the context's token.
/// Rebuilt by the actor system that deserializes it, so in a worker or child the handle talks
/// through that process's own system.
/// </summary>
internal sealed record QueueHandle<T>(IActorRef Queue, string Token) : ISurrogate
{
    public ISurrogated FromSurrogate(ActorSystem system) => new SimpleQueue<T>(QueueClient.For(system), Queue, Token);
}
