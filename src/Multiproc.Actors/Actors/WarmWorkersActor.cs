using Akka.Actor;
using Akka.Event;
using Multiproc.Actors.Configuration;
using static Multiproc.Actors.Actors.PoolCommands;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Actors;

/// <summary>
/// A context's warm workers (<c>multiproc.warm-workers</c>): idle worker processes that pools hand
/// over as they close, kept registered here until a new pool claims them or they idle out. While
/// here a worker is this actor's: it takes messages only from it, and this actor watches it and
/// its process as a pool would.
/// </summary>
internal sealed class WarmWorkersActor : ReceiveActor, IWithTimers
{
    private readonly string _token;
    private readonly MultiprocSettings _settings;
    private readonly DroppedMessages _dropped = new(Context.GetLogger(), "Warm workers");
    // In the order they were kept: claims take the most recent first, whose caches are warmest.
    private readonly List<Entry> _entries = [];

    public WarmWorkersActor(string token, MultiprocSettings settings)
    {
        _token = token;
        _settings = settings;

        // Pools of this context only: a claim hands out workers, which run whatever their new parent sends.
        Receive<KeepWarm>(_ => LocalActors.IsLocal(Sender), keep => OnKeep(keep.Worker));
        Receive<RegisterWorker>(OnRegister);
        Receive<ClaimWarm>(_ => LocalActors.IsLocal(Sender), claim => OnClaim(claim.Count));
        Receive<WorkerExited>(exited => OnExited(exited.Pid));
        Receive<Terminated>(OnTerminated);
        Receive<IdledOut>(idle =>
        {
            if (Find(idle.Pid) is not { } entry)
                return;
            // A claimed worker that never registered is its pool's now, which times its start.
            if (entry.ClaimedBy is not null)
                _entries.Remove(entry);
            else
                Retire(entry);
        });
        Receive<RetireTimedOut>(timedOut => Find(timedOut.Pid)?.Worker.Process.Kill());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string token, MultiprocSettings settings) =>
        Akka.Actor.Props.Create(() => new WarmWorkersActor(token, settings));

    private void OnKeep(WarmWorker worker)
    {
        var self = Self;
        _entries.Add(new Entry(worker));
        worker.Process.ReportExitTo((pid, code) => self.Tell(new WorkerExited(pid, code)));
        // Its registration (after its Transfer) is what makes it claimable; a worker that never
        // registers is not left running.
        Timers.StartSingleTimer(IdleKey(worker.Pid), new IdledOut(worker.Pid), _settings.WorkerStartTimeout);
    }

    private void OnRegister(RegisterWorker register)
    {
        var entry = Find(register.Pid);
        if (register.Token != _token || entry is null || !entry.Worker.Ref.Equals(Sender) || entry.Registered)
        {
            _dropped.Drop(register, Sender, $"pid {register.Pid} is not a worker a pool of this context handed over.");
            return;
        }
        entry.Registered = true;
        if (entry.ClaimedBy is { } pool)
        {
            // Claimed while on its way here; only now does it take a Transfer from this actor.
            _entries.Remove(entry);
            Timers.Cancel(IdleKey(register.Pid));
            Sender.Tell(new Transfer(pool));
            return;
        }
        Context.Watch(Sender);
        if (_entries.Count(e => e.Registered && !e.Retiring) > _settings.WarmWorkersMax)
            Retire(entry);
        else
            Timers.StartSingleTimer(IdleKey(register.Pid), new IdledOut(register.Pid), _settings.WarmWorkersIdleTimeout);
    }

    private void OnClaim(int count)
    {
        var claimed = new List<WarmWorker>(count);
        var transfers = new List<WarmWorker>(count);
        // Registered ones first, most recent first; then those a pool handed over a moment ago
        // (a pool made right after another's Join), which are sent on when they register.
        foreach (var registered in new[] { true, false })
        {
            for (var i = _entries.Count - 1; i >= 0 && claimed.Count < count; i--)
            {
                var entry = _entries[i];
                if (entry.Registered != registered || entry.Retiring || entry.ClaimedBy is not null)
                    continue;
                claimed.Add(entry.Worker);
                if (!registered)
                {
                    entry.ClaimedBy = Sender;
                    continue;
                }
                _entries.RemoveAt(i);
                Timers.Cancel(IdleKey(entry.Worker.Pid));
                Context.Unwatch(entry.Worker.Ref);
                transfers.Add(entry.Worker);
            }
        }
        // The pool must know them before their registrations reach it: a local Tell is in its
        // mailbox before the Transfers below have even left this process.
        Sender.Tell(new WarmClaimed(claimed));
        foreach (var worker in transfers)
            worker.Ref.Tell(new Transfer(Sender));
    }

    private void OnExited(int pid)
    {
        if (Find(pid) is not { } entry)
            return;
        _entries.Remove(entry);
        Timers.Cancel(IdleKey(pid));
        Timers.Cancel(RetireKey(pid));
        if (entry.Registered && !entry.Retiring)
            Context.Unwatch(entry.Worker.Ref);
    }

    private void OnTerminated(Terminated terminated)
    {
        // Frozen past the failure detector, or its system stopped: not worth keeping.
        if (_entries.Find(e => e.Worker.Ref.Equals(terminated.ActorRef)) is { Retiring: false } entry)
        {
            // Never handed out while its exit is on the way.
            entry.Retiring = true;
            entry.Worker.Process.Kill();
        }
    }

    private void Retire(Entry entry)
    {
        if (entry.Retiring)
            return;
        entry.Retiring = true;
        Timers.Cancel(IdleKey(entry.Worker.Pid));
        if (!entry.Registered)
        {
            entry.Worker.Process.Kill();
            return;
        }
        Context.Unwatch(entry.Worker.Ref);
        entry.Worker.Ref.Tell(PoolProtocol.Retire.Instance);
        Timers.StartSingleTimer(RetireKey(entry.Worker.Pid), new RetireTimedOut(entry.Worker.Pid), _settings.RetireTimeout);
    }

    protected override void PostStop()
    {
        // The context is going: nothing it started may outlive it.
        foreach (var entry in _entries)
            entry.Worker.Process.Kill();
        _entries.Clear();
    }

    private Entry? Find(int pid) => _entries.Find(e => e.Worker.Pid == pid);

    private static string IdleKey(int pid) => $"idle-{pid}";

    private static string RetireKey(int pid) => $"retire-{pid}";

    private sealed record IdledOut(int Pid) : ILocalOnly;

    private sealed class Entry(WarmWorker worker)
    {
        public WarmWorker Worker { get; } = worker;
        public bool Registered { get; set; }
        public bool Retiring { get; set; }

        /// <summary>The pool that claimed it before it registered here: it goes there when it does.</summary>
        public IActorRef? ClaimedBy { get; set; }
    }
}
