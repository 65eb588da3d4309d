using System.Text.RegularExpressions;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using Xunit;
using static Multiproc.Actors.EndToEndTests.Infrastructure.ProcessTestHelpers3;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>ChildProcess with real processes: exit codes, signals, joins, names, and what happens at shutdown.</summary>
public sealed class ChildProcessTests(SharedContext3 shared) : IClassFixture<SharedContext3>
{
    private readonly MultiprocContext _context = shared.Context;

    [Fact]
    public async Task ExitCode_says_how_the_child_ended()
    {
        var returns = _context.Process(static () => { });
        var throws = _context.Process(static () => { throw new InvalidOperationException("boom"); });
        var exits = _context.Process(static () => Environment.Exit(7));
        // A death by a signal we did not send reads as .NET reports it: 128 + 9.
        var killsItself = _context.Process(static () => System.Diagnostics.Process.GetCurrentProcess().Kill());
        ChildProcess[] all = [returns, throws, exits, killsItself];
        Assert.All(all, c => Assert.Null(c.ExitCode));

        foreach (var child in all)
            child.Start();
        foreach (var child in all)
            Assert.True(await Bounded(() => child.Join()));

        Assert.Equal(new int?[] { 0, 1, 7, 137 }, all.Select(c => c.ExitCode));
        Assert.All(all, c => Assert.False(c.IsAlive));
    }

    [Fact]
    public async Task Terminate_ends_a_running_child_promptly_with_exit_code_minus_15()
    {
        var ready = _context.SimpleQueue<int>();
        var child = _context.Process(static (SimpleQueue<int> r) =>
        {
            r.Put(Environment.ProcessId);
            Thread.Sleep(Timeout.Infinite);
        }, [ready]);
        child.Start();
        Assert.Equal(child.Pid, await Bounded(ready.Get));
        Assert.True(child.IsAlive);
        Assert.Null(child.ExitCode);

        child.Terminate();

        Assert.True(await Bounded(() => child.Join(TimeSpan.FromSeconds(10))), "the child should exit promptly on SIGTERM");
        Assert.Equal(-15, child.ExitCode);
        child.Terminate();
    }

    [Fact]
    public async Task Join_with_a_timeout_returns_false_while_the_child_runs_and_Kill_ends_it_with_minus_9()
    {
        var child = _context.Process(static () => Thread.Sleep(Timeout.Infinite), daemon: true);
        child.Start();
        Assert.Contains(child, Multiprocessing.ActiveChildren());

        Assert.False(await Bounded(() => child.Join(TimeSpan.FromMilliseconds(300))));
        Assert.True(child.IsAlive);
        child.Kill();

        Assert.True(await Bounded(() => child.Join(TimeSpan.FromSeconds(10))));
        Assert.Equal(-9, child.ExitCode);
        Assert.DoesNotContain(child, Multiprocessing.ActiveChildren());
    }

    [Fact]
    public async Task A_child_is_started_once_and_Daemon_is_fixed_at_Start()
    {
        var child = _context.Process(static () => { });
        Assert.Null(child.Pid);
        Assert.Throws<InvalidOperationException>(() => child.Join());
        child.Daemon = true;
        child.Start();

        Assert.Throws<InvalidOperationException>(child.Start);
        Assert.Throws<InvalidOperationException>(() => child.Daemon = false);
        Assert.NotNull(child.Pid);
        Assert.True(await Bounded(() => child.Join()));
        Assert.Equal(0, child.ExitCode);
        Assert.Throws<InvalidOperationException>(child.Start);
    }

    [Fact]
    public async Task Inside_a_child_CurrentProcess_is_its_Name_and_pid_and_default_names_count_up()
    {
        var queue = _context.SimpleQueue<ProcessInfo>();
        var named = _context.Process(static (SimpleQueue<ProcessInfo> q) => q.Put(Multiprocessing.CurrentProcess()), [queue], name: "loader");
        var unnamed = _context.Process(static (SimpleQueue<ProcessInfo> q) => q.Put(Multiprocessing.CurrentProcess()), [queue]);
        Assert.Matches(new Regex(@"^Process-\d+$"), unnamed.Name);

        named.Start();
        var fromNamed = await Bounded(queue.Get);
        unnamed.Start();
        var fromUnnamed = await Bounded(queue.Get);

        Assert.Equal(new ProcessInfo("loader", named.Pid!.Value), fromNamed);
        Assert.Equal(new ProcessInfo(unnamed.Name, unnamed.Pid!.Value), fromUnnamed);
        Assert.Equal("MainProcess", Multiprocessing.CurrentProcess().Name);
    }

    [Fact]
    public void Args_that_do_not_fit_the_target_or_hold_process_local_state_are_refused_before_any_process_starts()
    {
        Assert.Throws<ArgumentException>(() => _context.Process(static (int x) => { }, ["not an int"]));
        Assert.Throws<ArgumentException>(() => _context.Process(static (int x) => { }));
        Assert.Throws<ArgumentException>(() => _context.Process(static (Stream s) => { }, [new MemoryStream()]));
    }

    [Fact]
    public async Task A_ProcessPool_created_inside_a_child_works()
    {
        var queue = _context.SimpleQueue<int[]>();
        var child = _context.Process(static (SimpleQueue<int[]> q) =>
        {
            using var pool = new ProcessPool(processes: 2);
            var results = pool.Map(static x => (Value: x * 2, Pid: Environment.ProcessId), Enumerable.Range(0, 10));
            q.Put([results.Sum(r => r.Value), results.Count(r => r.Pid == Environment.ProcessId)]);
        }, [queue]);
        child.Start();

        var reply = await Bounded(queue.Get);

        Assert.Equal(new[] { 90, 0 }, reply);
        Assert.True(await Bounded(() => child.Join()));
        Assert.Equal(0, child.ExitCode);
    }

    [Fact]
    public async Task Disposing_a_context_terminates_its_daemon_children_and_joins_the_others_for_a_bounded_time()
    {
        var context = CreateContext("multiproc.process.join-on-exit-timeout = 5 s");
        var ready = context.SimpleQueue<string>();
        var daemon = context.Process(static (SimpleQueue<string> r) => { r.Put("daemon"); Thread.Sleep(Timeout.Infinite); }, [ready], daemon: true);
        var finishes = context.Process(static (SimpleQueue<string> r) => { r.Put("finishes"); Thread.Sleep(1000); }, [ready]);
        var hangs = context.Process(static (SimpleQueue<string> r) => { r.Put("hangs"); Thread.Sleep(Timeout.Infinite); }, [ready]);
        try
        {
            foreach (var child in new[] { daemon, finishes, hangs })
                child.Start();
            for (var i = 0; i < 3; i++)
                await Bounded(ready.Get);
        }
        finally
        {
            await Bounded(context.Dispose);
        }

        Assert.Equal(-15, daemon.ExitCode);
        Assert.Equal(0, finishes.ExitCode);
        Assert.Equal(-15, hangs.ExitCode);
    }

    [Fact]
    public async Task When_a_child_dies_its_own_children_exit_within_seconds()
    {
        var pids = _context.SimpleQueue<int>();
        var child = _context.Process(static (SimpleQueue<int> q) =>
        {
            var grandchild = new ChildProcess(static (SimpleQueue<int> q2) =>
            {
                q2.Put(Environment.ProcessId);
                Thread.Sleep(Timeout.Infinite);
            }, [q]);
            grandchild.Start();
            Thread.Sleep(Timeout.Infinite);
        }, [pids]);
        child.Start();
        var grandchildPid = await Bounded(pids.Get);
        Assert.True(IsRunning(grandchildPid));

        child.Kill();

        await Eventually(() => !IsRunning(grandchildPid), TimeSpan.FromSeconds(10), $"grandchild {grandchildPid} gone after its parent was killed");
        Assert.True(await Bounded(() => child.Join()));
    }

    [Fact]
    public async Task A_child_that_returns_joins_its_own_non_daemon_children_first_as_Python_does_at_exit()
    {
        var queue = _context.SimpleQueue<string>();
        var child = _context.Process(static (SimpleQueue<string> q) =>
        {
            new ChildProcess(static (SimpleQueue<string> q2) =>
            {
                Thread.Sleep(1000);
                q2.Put("grandchild done");
            }, [q]).Start();
        }, [queue]);
        child.Start();

        Assert.True(await Bounded(() => child.Join()));

        Assert.Equal(0, child.ExitCode);
        Assert.True(queue.TryGet(TimeSpan.Zero, out var item), "the grandchild should have finished before the child exited");
        Assert.Equal("grandchild done", item);
    }

    [Fact]
    public async Task A_child_that_made_its_own_pool_and_child_exits_promptly_on_SIGTERM_and_they_follow()
    {
        var pids = _context.SimpleQueue<int[]>();
        var child = _context.Process(static (SimpleQueue<int[]> q) =>
        {
            // Both live in the child's own default context, which is disposed when the child exits.
            var pool = new ProcessPool(processes: 1);
            var worker = pool.Apply(static () => Environment.ProcessId);
            var grandchild = new ChildProcess(static () => Thread.Sleep(Timeout.Infinite));
            grandchild.Start();
            q.Put([worker, grandchild.Pid!.Value]);
            Thread.Sleep(Timeout.Infinite);
        }, [pids]);
        child.Start();
        var descendants = await Bounded(pids.Get);

        child.Terminate();

        // A liveness bound, not a timing assert: without the abrupt exit the child's context would first
        // join its grandchild for join-on-exit-timeout (10 s) and wait for its actor system.
        Assert.True(await Bounded(() => child.Join(TimeSpan.FromSeconds(8))), "the child should exit promptly on SIGTERM");
        Assert.Equal(-15, child.ExitCode);
        foreach (var pid in descendants)
            await Eventually(() => !IsRunning(pid), TimeSpan.FromSeconds(15), $"process {pid} gone after its parent was terminated");
    }

    [Fact]
    public async Task Ended_children_release_their_process_objects_and_are_not_tracked_for_ever()
    {
        var context = CreateContext();
        try
        {
            var launcher = (Multiproc.Actors.Launching.ProcessLauncher)context.Launcher;
            var first = Enumerable.Range(0, 3).Select(_ => context.Process(static () => { })).ToArray();
            foreach (var child in first)
                child.Start();
            foreach (var child in first)
                Assert.True(await Bounded(() => child.Join()));

            // Each Process and its stdin pipe are released once the exit is reported; the handles stay usable.
            await Eventually(() => launcher.Undisposed == 0, TimeSpan.FromSeconds(10), $"{launcher.Undisposed} process objects still held");
            Assert.All(first, c => Assert.Equal(0, c.ExitCode));
            Assert.All(first, c => Assert.False(c.IsAlive));
            Assert.All(first, c => Assert.True(c.Join(TimeSpan.Zero)));
            foreach (var child in first)
            {
                child.Terminate();
                child.Kill();
            }
            Assert.All(first, c => Assert.Equal(0, c.ExitCode));

            var next = context.Process(static () => { });
            next.Start();
            Assert.Equal(1, context.TrackedChildren);
            Assert.True(await Bounded(() => next.Join()));
        }
        finally
        {
            await Bounded(context.Dispose);
        }
    }

    [Fact]
    public async Task A_child_started_while_its_context_is_disposed_is_refused_or_ended()
    {
        var context = CreateContext();
        var children = Enumerable.Range(0, 6).Select(_ => context.Process(static () => Thread.Sleep(Timeout.Infinite), daemon: true)).ToArray();
        var go = new ManualResetEventSlim();
        var starts = children.Select(child => Task.Run(() =>
        {
            go.Wait();
            try
            {
                child.Start();
                return true;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        })).ToArray();
        var dispose = Task.Run(() =>
        {
            go.Wait();
            context.Dispose();
        });

        go.Set();
        await Bounded(() => dispose.Wait());
        var started = await Bounded(() => Task.WhenAll(starts).Result);

        try
        {
            // Whatever won the race, nothing the context started outlives its Dispose.
            for (var i = 0; i < children.Length; i++)
            {
                if (started[i])
                    Assert.False(children[i].IsAlive, $"child {i} outlived Dispose");
            }
            Assert.Throws<ObjectDisposedException>(() => context.Process(static () => { }).Start());
        }
        finally
        {
            foreach (var child in children.Where(c => c.Pid is not null))
                child.Kill();
        }
    }
}
