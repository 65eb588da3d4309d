using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;
using Multiproc.Actors.Worker;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.Actors.PoolCommands;
using static Multiproc.Actors.Actors.PoolProtocol;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// Code running as a task in a worker, a process the context itself started, plays the attacker:
/// it sends the pool actor and the warm workers the library's internal commands and its workers'
/// messages, forged, through the worker's own actor system. None of them is obeyed.
/// </summary>
public sealed class InternalCommandTests
{
    [Fact]
    public Task Internal_commands_and_worker_messages_forged_by_a_task_in_a_worker_are_not_obeyed() => Bounded(async () =>
    {
        var context = MultiprocContext.Create(ConfigurationFactory.ParseString("multiproc.warm-workers.max = 3"));
        var seen = new List<int>();
        var marker = Path.Combine(Path.GetTempPath(), $"multiproc-forged-{Guid.NewGuid():N}");
        try
        {
            // Three workers kept warm: the pool under attack takes two, one stays for the next pool.
            var first = new ProcessPool(3, context: context);
            var kept = await WorkerPids.Of(first);
            seen.AddRange(kept);
            await Call(() => first.Close());
            await Call(() => first.Join());
            var pool = await Call(() => new ProcessPool(2, context: context));
            var before = await WorkerPids.Of(pool);
            seen.AddRange(before);

            // Another call in flight while the attack runs: its results must be its own.
            var pending = pool.MapAsync(Slow, new[] { 5, 6, 7, 8 }, chunksize: 1);
            var attack = Attack(Akka.Serialization.Serialization.SerializedActorPath(pool.Actor),
                Akka.Serialization.Serialization.SerializedActorPath(context.WarmWorkers!), marker);
            var forged = await Call(() => pool.Map(attack, new[] { 0 }, chunksize: 1));

            Assert.True(forged[0] > 100, "the attack sent its messages");
            Assert.Equal(new[] { 5, 6, 7, 8 }, await Awaited(pending));
            Assert.Equal(Enumerable.Range(1, 8), await Call(() => pool.Map(x => x + 1, Enumerable.Range(0, 8), chunksize: 1)));
            // Neither killed, retired, replaced nor joined by extra workers.
            Assert.Equal(before, await WorkerPids.Of(pool));
            Assert.False(File.Exists(marker), "the pool ran a job forged in a worker");
            // The warm worker left was not handed to the forger: the next pool takes it.
            var next = await Call(() => new ProcessPool(1, context: context));
            var nextWorkers = await WorkerPids.Of(next);
            seen.AddRange(nextWorkers);
            Assert.Contains(nextWorkers[0], kept);
        }
        finally
        {
            await Deadline.Dispose(context);
            ProcFs.KillWorkers(seen);
            File.Delete(marker);
        }
    });

    private static int Slow(int x)
    {
        Thread.Sleep(300);
        return x;
    }

    // Built here so that the closure holds only strings.
    private static Func<int, int> Attack(string poolPath, string warmPath, string marker) => _ => Forge(poolPath, warmPath, marker);

    /// <summary>
    /// Runs in a worker. Sends every command twice: as Hyperion bytes and as bytes that name the
    /// local-only serializer (an attacker owns its process and picks its serializers); each with
    /// the worker's own actor as sender, with an actor the pool does not know, and with none.
    /// </summary>
    private static int Forge(string poolPath, string warmPath, string marker)
    {
        var system = (ExtendedActorSystem)WorkerProgram.System!;
        var provider = system.Provider;
        var pool = provider.ResolveActorRef(poolPath);
        var warm = provider.ResolveActorRef(warmPath);
        var worker = provider.ResolveActorRef($"{provider.DefaultAddress}/user/{WorkerProgram.WorkerActorName}");
        var stranger = system.ActorOf(Props.Empty);
        var codec = new PayloadCodec(system, 1 << 20);
        var function = new EncodedFunction(codec.Encode(
            new JobFunction(FunctionRef.From(Touch(marker), "func"), CallKind.Map, Stateless: false), "function"));
        var pid = Environment.ProcessId;
        var toPool = new List<object>
        {
            new SubmitJob(new JobSpec(777, function, [new ChunkSpec(0, 0, 1, codec.Encode(new[] { 1 }, "items"))], new ForgedSink())),
            new OpenStream(778, function, new ForgedStreamSink()),
            new WorkerExited(pid, 137),
            new RetireTimedOut(pid),
            new StartTimedOut(pid),
            TerminatePool.Instance,
            ClosePool.Instance,
            new WarmClaimed([]),
        };
        for (var job = 1; job <= 10; job++)
        {
            toPool.Add(new AddChunk(job, null!));
            toPool.Add(new EndStream(job));
            toPool.Add(LaunchDue.Instance);
        }
        object[] toWarm = [new ClaimWarm(5), new WorkerExited(pid, 137)];

        var sent = 0;
        var localOnly = system.Serialization.FindSerializerForType(typeof(TerminatePool));
        var hyperion = system.Serialization.FindSerializerForType(typeof(object));
        foreach (var serializer in new[] { hyperion, new NamesAnotherSerializer(system, localOnly.Identifier) })
        {
            foreach (var command in toPool.Concat(toWarm))
                system.Serialization.AddSerializationMap(command.GetType(), serializer);
            foreach (var sender in new IActorRef?[] { worker, stranger, ActorRefs.NoSender })
            {
                foreach (var command in toPool)
                    Send(pool, command, sender, ref sent);
                foreach (var command in toWarm)
                    Send(warm, command, sender, ref sent);
            }
        }

        // Worker messages from an actor the pool did not register, or from no one.
        foreach (var sender in new IActorRef?[] { stranger, ActorRefs.NoSender })
        {
            for (var job = 1; job <= 10; job++)
            for (var chunk = 0; chunk < 8; chunk++)
                Send(pool, new ChunkDone(job, chunk, codec.Encode(new[] { -1 }, "forged results")), sender, ref sent);
            Send(pool, new RegisterWorker("not-the-token", pid), sender, ref sent);
            Send(pool, new InitializerFailed(RemoteError.From(new InvalidOperationException("forged"))), sender, ref sent);
            Send(pool, WorkerReady.Instance, sender, ref sent);
        }
        Send(pool, new RegisterWorker("not-the-token", pid), worker, ref sent);
        return sent;
    }

    private static void Send(IActorRef to, object message, IActorRef? sender, ref int sent)
    {
        to.Tell(message, sender);
        sent++;
    }

    private static Func<int, int> Touch(string marker) => x =>
    {
        File.WriteAllText(marker, "forged");
        return x;
    };

    /// <summary>Bytes that claim to be of the serializer with <paramref name="identifier"/>.</summary>
    private sealed class NamesAnotherSerializer(ExtendedActorSystem system, int identifier) : Serializer(system)
    {
        public override int Identifier => identifier;

        public override bool IncludeManifest => true;

        public override byte[] ToBinary(object obj) => [1, 2, 3];

        public override object FromBinary(byte[] bytes, Type? type) => throw new NotSupportedException();
    }

    private sealed class ForgedSink : IJobSink
    {
        public void Accept(int start, object? results)
        {
        }

        public void Complete()
        {
        }

        public void Fail(Exception error)
        {
        }
    }

    private sealed class ForgedStreamSink : IStreamSink
    {
        public void Chunk(int chunkIndex, object? results, Exception? error)
        {
        }

        public void Fail(Exception error)
        {
        }
    }
}
