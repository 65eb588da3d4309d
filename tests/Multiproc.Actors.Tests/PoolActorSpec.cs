using Akka.Actor;
using Akka.TestKit;
using Multiproc.Actors.Actors;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Configuration;
using Multiproc.Actors.Serialization;
using Xunit;
using static Multiproc.Actors.Actors.PoolCommands;
using static Multiproc.Actors.Actors.PoolProtocol;

namespace Multiproc.Actors.Tests;

public sealed class PoolActorSpec : MultiprocSpec
{
    private const string Token = "the-token";
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private readonly FakeLauncher _launcher = new();
    private readonly PayloadCodec _codec;
    private readonly TaskCompletionSource _allExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private MultiprocSettings _settings;
    private int? _maxTasks;

    public PoolActorSpec()
    {
        _settings = MultiprocSettings.Create(Sys.Settings.Config) with { Prefetch = 2, MaxTries = 3, MaxFailedStarts = 3 };
        _codec = new PayloadCodec(Sys, _settings.MaximumMessageSize);
    }

    [Fact]
    public async Task Registration_with_a_wrong_token_is_dropped()
    {
        var pool = await StartPool(1);
        var stranger = CreateTestProbe();
        pool.Tell(new RegisterWorker("not-the-token", _launcher[0].Pid), stranger.Ref);
        await stranger.ExpectNoMsgAsync(Quiet);

        pool.Tell(new RegisterWorker(Token, _launcher[0].Pid), stranger.Ref);
        await stranger.ExpectMsgAsync<Welcome>();
    }

    [Fact]
    public async Task Registration_from_a_process_the_pool_did_not_launch_is_dropped()
    {
        var pool = await StartPool(1);
        var stranger = CreateTestProbe();
        pool.Tell(new RegisterWorker(Token, 424242), stranger.Ref);
        await stranger.ExpectNoMsgAsync(Quiet);
    }

    [Fact]
    public async Task Welcome_carries_the_initializer()
    {
        var initializer = _codec.Encode("init", "the initializer");
        var pool = await StartPool(1, initializer);
        var worker = CreateTestProbe();
        pool.Tell(new RegisterWorker(Token, _launcher[0].Pid), worker.Ref);
        var welcome = await worker.ExpectMsgAsync<Welcome>();
        Assert.Equal(initializer.Bytes, welcome.Initializer!.Bytes);
    }

    [Fact]
    public async Task Results_are_in_input_order_when_chunks_complete_out_of_order()
    {
        var pool = await StartPool(1);
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, Enumerable.Range(0, 6).ToArray(), chunkSize: 2);

        var first = await NextChunk(worker);
        var second = await NextChunk(worker);
        await ExpectNoChunk(worker, Quiet); // prefetch is 2: the third waits for room

        Reply(pool, worker, second, x => x * 10);
        var third = await NextChunk(worker);
        Reply(pool, worker, third, x => x * 10);
        Reply(pool, worker, first, x => x * 10);

        Assert.Equal(new[] { 0, 10, 20, 30, 40, 50 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal([0, 2, 4], new[] { first.Start, second.Start, third.Start });
    }

    [Fact]
    public async Task The_function_travels_with_a_workers_first_chunk_of_a_job_only_and_finished_jobs_are_forgotten()
    {
        var pool = await StartPool(1);
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 7, [1, 2, 3], chunkSize: 1);

        var first = await NextChunk(worker);
        var second = await NextChunk(worker);
        Assert.NotNull(first.Function);
        Assert.Null(second.Function);
        Reply(pool, worker, first, x => x);
        var third = await NextChunk(worker);
        Assert.Null(third.Function);
        Reply(pool, worker, second, x => x);
        Reply(pool, worker, third, x => x);
        await sink.Completion.Task.WaitAsync(RemainingOrDefault);

        Submit(pool, jobId: 8, [4], chunkSize: 1);
        var next = await NextChunk(worker);
        Assert.NotNull(next.Function);
        Assert.Equal([7L], next.ForgetJobs);
    }

    [Fact]
    public async Task A_function_with_an_id_travels_once_per_worker_and_later_jobs_carry_only_its_id()
    {
        var pool = await StartPool(2);
        var worker = await Register(pool, 0);
        var first = Submit(pool, jobId: 1, [1], chunkSize: 1, functionId: 5);
        var chunk1 = await NextChunk(worker);
        Assert.Equal(5, chunk1.FunctionId);
        Assert.NotNull(chunk1.Function);
        Reply(pool, worker, chunk1, x => x);
        await first.Completion.Task.WaitAsync(RemainingOrDefault);

        // The next job with the same function: only the id; with another function: its bytes.
        Submit(pool, jobId: 2, [2], chunkSize: 1, functionId: 5);
        var chunk2 = await NextChunk(worker);
        Assert.Equal(5, chunk2.FunctionId);
        Assert.Null(chunk2.Function);
        Submit(pool, jobId: 3, [3], chunkSize: 1, functionId: 6);
        var chunk3 = await NextChunk(worker);
        Assert.Equal(6, chunk3.FunctionId);
        Assert.NotNull(chunk3.Function);

        // A worker that joins later has none of them: it is sent the bytes.
        var other = await Register(pool, 1);
        Submit(pool, jobId: 4, [4, 5, 6, 7], chunkSize: 1, functionId: 5);
        var chunk4 = await NextChunk(other);
        Assert.Equal(5, chunk4.FunctionId);
        Assert.NotNull(chunk4.Function);
    }

    [Fact]
    public async Task A_worker_of_fast_tasks_is_refilled_in_one_message_once_half_its_prefetch_has_drained()
    {
        // Every chunk counts as fast here, so the pipeline may hold 8 chunks.
        _settings = _settings with { FastTaskPrefetch = 8, FastTaskThreshold = TimeSpan.FromHours(1) };
        var pool = await StartPool(1);
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, Enumerable.Range(0, 60).ToArray(), chunkSize: 1);
        var held = new List<RunChunk>();
        var handed = new List<int>(); // chunks per message, after each report

        // Report the oldest chunk, one at a time, and note how many chunks each report brings.
        while (held.Count > 0 || handed.Count == 0)
        {
            var batch = await worker.ReceiveOneAsync(handed.Count == 0 ? RemainingOrDefault : TimeSpan.FromMilliseconds(100)) switch
            {
                RunChunk one => [one],
                RunChunks many => many.Chunks,
                null => [],
                var other => throw new InvalidOperationException($"Unexpected {other}"),
            };
            held.AddRange(batch);
            handed.Add(batch.Length);
            if (held.Count == 0)
                break;
            Reply(pool, worker, held[0], x => x);
            held.RemoveAt(0);
        }

        Assert.Equal(Enumerable.Range(0, 60), await sink.Completion.Task.WaitAsync(RemainingOrDefault));
        // Once the pipeline is deep (and while the queue is long: its tail is shared out more
        // thinly), three reports in four bring nothing and the fourth a batch of 4 that fills it again.
        var sent = 0;
        var middle = handed.SkipWhile(n => n < 4).Skip(1).TakeWhile(n => (sent += n) <= 40).ToList();
        Assert.True(middle.Count >= 16, string.Join(",", handed));
        Assert.All(middle, n => Assert.True(n is 0 or 4, $"a refill of {n}: {string.Join(",", handed)}"));
    }

    [Fact]
    public async Task A_dead_workers_chunks_run_again_on_another_worker_and_a_replacement_is_launched()
    {
        var pool = await StartPool(2);
        var doomed = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1, 2], chunkSize: 1);
        // Both chunks go to the only ready worker; then a second worker arrives.
        var lost1 = await NextChunk(doomed);
        var lost2 = await NextChunk(doomed);
        var survivor = await Register(pool, 1);

        _launcher[0].Exit(137);

        // Re-run one at a time: which of the two killed the worker is not known yet.
        var again1 = await NextChunk(survivor);
        Assert.NotNull(again1.Function); // the survivor had never seen this job
        await AwaitAssertAsync(() => Assert.Equal(3, _launcher.Launched.Count));
        Reply(pool, survivor, again1, x => x + 1);
        var again2 = await NextChunk(survivor);
        Reply(pool, survivor, again2, x => x + 1);
        Assert.Equal([lost1.ChunkIndex, lost2.ChunkIndex], new[] { again1.ChunkIndex, again2.ChunkIndex });
        Assert.Equal(new[] { 2, 3 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task A_late_reply_from_a_worker_presumed_dead_is_ignored()
    {
        var pool = await StartPool(2);
        var doomed = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [5], chunkSize: 1);
        var chunk = await NextChunk(doomed);
        var survivor = await Register(pool, 1);
        _launcher[0].Exit(137);
        var again = await NextChunk(survivor);

        Reply(pool, doomed, chunk, _ => -1);   // the dead worker's answer arrives after all
        Reply(pool, survivor, again, x => x);
        Assert.Equal(new[] { 5 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task A_task_whose_workers_keep_dying_fails_with_WorkerCrashedException_and_no_other_task_is_blamed()
    {
        _settings = _settings with { MaxTries = 2 };
        var pool = await StartPool(1);
        var sink = Submit(pool, jobId: 1, [0, 1], chunkSize: 1);

        // Two in flight when the worker dies: either may have been running, so neither is charged.
        var first = await Register(pool, 0);
        await NextChunk(first);
        await NextChunk(first);
        _launcher[0].Exit(134);

        // Suspects run alone, so each crash is blamed on the one chunk that was running.
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var worker = await Register(pool, attempt);
            Assert.Equal(0, (await NextChunk(worker)).Start);
            await ExpectNoChunk(worker, Quiet);
            _launcher[attempt].Exit(134);
        }
        var survivor = await Register(pool, 3);
        var innocent = await NextChunk(survivor);
        Assert.Equal(1, innocent.Start);
        Reply(pool, survivor, innocent, x => x);

        var error = await Assert.ThrowsAsync<WorkerCrashedException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal(0, error.TaskIndex);
        Assert.Equal(2, error.Tries);
        Assert.Equal(134, error.ExitCode);
    }

    [Fact]
    public async Task A_chunk_whose_worker_died_runs_again_item_by_item()
    {
        var pool = await StartPool(1);
        var first = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [10, 11, 12], chunkSize: 3);
        await NextChunk(first);
        _launcher[0].Exit(137);

        var second = await Register(pool, 1);
        var parts = new List<RunChunk>();
        for (var i = 0; i < 3; i++)
        {
            parts.Add(await NextChunk(second));
            await ExpectNoChunk(second, TimeSpan.FromMilliseconds(100)); // one at a time, to blame the right one
            Reply(pool, second, parts[i], x => x + 1);
        }

        Assert.Equal(new[] { 0, 1, 2 }, parts.Select(p => p.Start));
        Assert.All(parts, p => Assert.Single((int[])_codec.Decode(p.Items)!));
        Assert.Equal(new[] { 11, 12, 13 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task When_several_chunks_fail_the_lowest_input_index_is_reported_after_every_chunk_reports()
    {
        var pool = await StartPool(1);
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, Enumerable.Range(0, 6).ToArray(), chunkSize: 2);
        var c0 = await NextChunk(worker);
        var c1 = await NextChunk(worker);

        pool.Tell(new ChunkFailed(1, c1.ChunkIndex, 3, RemoteError.From(new InvalidOperationException("item 3"))), worker.Ref);
        var c2 = await NextChunk(worker);
        pool.Tell(new ChunkFailed(1, c0.ChunkIndex, 1, RemoteError.From(new ArgumentException("item 1"))), worker.Ref);
        Assert.False(sink.Completion.Task.IsCompleted);
        Reply(pool, worker, c2, x => x);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal("item 1", error.Message);
    }

    [Fact]
    public async Task Results_from_an_actor_that_is_not_a_worker_are_dropped()
    {
        var pool = await StartPool(1);
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);
        var chunk = await NextChunk(worker);

        var stranger = CreateTestProbe();
        Reply(pool, stranger, chunk, _ => 666);
        Reply(pool, worker, chunk, x => x);
        Assert.Equal(new[] { 1 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task Worker_messages_from_anyone_but_a_registered_worker_are_dropped_and_logged_once_per_type_and_origin()
    {
        var pool = await StartPool(2, _codec.Encode("init", "the initializer"));
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);
        var chunk = await NextChunk(worker);
        var stranger = CreateTestProbe();

        await EventFilter.Warning(contains: "dropped a ChunkDone").ExpectAsync(2, async () =>
        {
            for (var i = 0; i < 5; i++)
            {
                Reply(pool, stranger, chunk, _ => 666);
                pool.Tell(new ChunkDone(chunk.JobId, chunk.ChunkIndex, _codec.Encode(new[] { 666 }, "results")), ActorRefs.NoSender);
            }
            await stranger.ExpectNoMsgAsync(Quiet);
        });
        // An initializer failure from a stranger would break the pool; readiness would hand it work.
        pool.Tell(new InitializerFailed(RemoteError.From(new InvalidOperationException("forged"))), stranger.Ref);
        pool.Tell(new InitializerFailed(RemoteError.From(new InvalidOperationException("forged"))), ActorRefs.NoSender);
        pool.Tell(WorkerReady.Instance, stranger.Ref);
        // The token without a sender, or a second time from a registered worker, registers nothing.
        pool.Tell(new RegisterWorker(Token, _launcher[1].Pid), ActorRefs.NoSender);
        pool.Tell(new RegisterWorker(Token, _launcher[1].Pid), worker.Ref);

        Reply(pool, worker, chunk, x => x * 10);
        Assert.Equal(new[] { 10 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
        var second = await Register(pool, 1);
        var next = Submit(pool, jobId: 2, [2, 3], chunkSize: 1);
        var chunks = new[] { await NextChunk(worker), await NextChunk(second) };
        Reply(pool, worker, chunks[0], x => x * 10);
        Reply(pool, second, chunks[1], x => x * 10);
        Assert.Equal(new[] { 20, 30 }, await next.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public void Local_only_commands_never_serialize_and_bytes_naming_their_serializer_build_nothing()
    {
        var serialization = Sys.Serialization;
        var serializer = serialization.FindSerializerFor(TerminatePool.Instance);
        Assert.IsType<LocalOnlySerializer>(serializer);
        Assert.IsType<LocalOnlySerializer>(serialization.FindSerializerFor(new WorkerExited(1, 137)));
        Assert.IsAssignableFrom<Akka.Actor.IPossiblyHarmful>(new ClaimWarm(1));

        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.ToBinary(TerminatePool.Instance));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(
            () => serialization.Deserialize([1, 2, 3], serializer.Identifier, typeof(TerminatePool).AssemblyQualifiedName));
    }

    [Fact]
    public async Task Close_retires_idle_workers_once_the_queue_is_done_and_reports_when_all_have_exited()
    {
        var pool = await StartPool(1);
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);
        var chunk = await NextChunk(worker);

        pool.Tell(ClosePool.Instance);
        await ExpectNoChunk(worker, Quiet); // busy: not retired yet
        Reply(pool, worker, chunk, x => x);
        await worker.ExpectMsgAsync<Retire>();
        await sink.Completion.Task.WaitAsync(RemainingOrDefault);
        Assert.False(_allExited.Task.IsCompleted);

        _launcher[0].Exit(0);
        await _allExited.Task.WaitAsync(RemainingOrDefault);
        Assert.Single(_launcher.Launched); // a retired worker is not replaced
    }

    [Fact]
    public async Task Close_kills_workers_that_never_registered_when_there_is_nothing_to_do()
    {
        var pool = await StartPool(2);
        pool.Tell(ClosePool.Instance);
        await _allExited.Task.WaitAsync(RemainingOrDefault);
        Assert.All(_launcher.Launched, p => Assert.True(p.Killed));
    }

    [Fact]
    public async Task Terminate_fails_pending_work_with_PoolTerminatedException_and_kills_the_workers()
    {
        var pool = await StartPool(2);
        await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1, 2, 3], chunkSize: 1);

        pool.Tell(TerminatePool.Instance);

        await Assert.ThrowsAsync<PoolTerminatedException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        await _allExited.Task.WaitAsync(RemainingOrDefault);
        Assert.All(_launcher.Launched, p => Assert.True(p.Killed));
    }

    [Fact]
    public async Task An_initializer_that_throws_fails_pending_and_later_calls_with_its_exception_without_respawning()
    {
        var pool = await StartPool(2);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);
        var worker = CreateTestProbe();
        pool.Tell(new RegisterWorker(Token, _launcher[0].Pid), worker.Ref);
        await worker.ExpectMsgAsync<Welcome>();

        pool.Tell(new InitializerFailed(RemoteError.From(new FormatException("bad init"))), worker.Ref);

        var error = await Assert.ThrowsAsync<FormatException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal("bad init", error.Message);
        var later = Submit(pool, jobId: 2, [1], chunkSize: 1);
        await Assert.ThrowsAsync<FormatException>(() => later.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal(2, _launcher.Launched.Count);
        Assert.All(_launcher.Launched, p => Assert.True(p.Killed));
    }

    [Fact]
    public async Task Workers_that_keep_failing_to_start_fail_the_calls_instead_of_respawning_forever()
    {
        var pool = await StartPool(1);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);

        for (var i = 0; i < _settings.MaxFailedStarts; i++)
        {
            await AwaitConditionAsync(() => Task.FromResult(_launcher.Launched.Count > i));
            _launcher[i].Exit(4);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Contains("failed to start", error.Message);
        Assert.Equal(_settings.MaxFailedStarts, _launcher.Launched.Count);
    }

    [Fact]
    public async Task Workers_killed_from_outside_while_starting_are_replaced_without_breaking_the_pool()
    {
        _settings = _settings with { RespawnBackoffMin = TimeSpan.FromMilliseconds(10), RespawnBackoffMax = TimeSpan.FromMilliseconds(20) };
        var pool = await StartPool(1);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);

        // SIGKILL and SIGTERM exits, more of them than max-failed-starts.
        for (var i = 0; i < _settings.MaxFailedStarts * 2; i++)
        {
            await AwaitConditionAsync(() => Task.FromResult(_launcher.Launched.Count > i));
            _launcher[i].Exit(i % 2 == 0 ? 137 : 143);
        }

        var worker = await Register(pool, _settings.MaxFailedStarts * 2);
        Reply(pool, worker, await NextChunk(worker), x => x + 1);
        Assert.Equal(new[] { 2 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task Workers_killed_while_starting_every_time_fail_the_calls_in_the_end_rather_than_leave_them_waiting()
    {
        // An OOM killer or a memory limit that kills every new worker: forgiven for a while, not for ever.
        _settings = _settings with { RespawnBackoffMin = TimeSpan.FromMilliseconds(1), RespawnBackoffMax = TimeSpan.FromMilliseconds(2) };
        var pool = await StartPool(1);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);

        var limit = 10 * _settings.MaxFailedStarts + _settings.MaxFailedStarts;
        for (var i = 0; i < limit && !sink.Completion.Task.IsCompleted; i++)
        {
            await AwaitConditionAsync(() => Task.FromResult(_launcher.Launched.Count > i || sink.Completion.Task.IsCompleted));
            if (_launcher.Launched.Count > i)
                _launcher[i].Exit(137);
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Contains("failed to start", error.Message);
    }

    [Fact]
    public async Task A_pool_broken_by_workers_that_cannot_start_tries_again_on_a_call_after_its_back_off()
    {
        _settings = _settings with { RespawnBackoffMin = TimeSpan.FromMilliseconds(200), RespawnBackoffMax = TimeSpan.FromSeconds(1) };
        var pool = await StartPool(1);
        var first = Submit(pool, jobId: 1, [1], chunkSize: 1);
        for (var i = 0; i < _settings.MaxFailedStarts; i++)
        {
            await AwaitConditionAsync(() => Task.FromResult(_launcher.Launched.Count > i));
            _launcher[i].Exit(4);
        }
        await Assert.ThrowsAsync<InvalidOperationException>(() => first.Completion.Task.WaitAsync(RemainingOrDefault));
        // Right after the break, calls fail at once, without launching anything.
        var early = Submit(pool, jobId: 2, [2], chunkSize: 1);
        await Assert.ThrowsAsync<InvalidOperationException>(() => early.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal(_settings.MaxFailedStarts, _launcher.Launched.Count);

        // After the back-off, a call launches workers again (half-open) and is served.
        var later = await SubmitUntilRelaunched(pool, [3]);
        var worker = await Register(pool, _settings.MaxFailedStarts);
        Reply(pool, worker, await NextChunk(worker), x => x * 10);
        Assert.Equal(new[] { 30 }, await later.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task A_half_open_pool_whose_new_worker_cannot_start_either_breaks_again_at_once()
    {
        _settings = _settings with { RespawnBackoffMin = TimeSpan.FromMilliseconds(100), RespawnBackoffMax = TimeSpan.FromSeconds(1) };
        var pool = await StartPool(1);
        var first = Submit(pool, jobId: 1, [1], chunkSize: 1);
        for (var i = 0; i < _settings.MaxFailedStarts; i++)
        {
            await AwaitConditionAsync(() => Task.FromResult(_launcher.Launched.Count > i));
            _launcher[i].Exit(4);
        }
        await Assert.ThrowsAsync<InvalidOperationException>(() => first.Completion.Task.WaitAsync(RemainingOrDefault));

        var later = await SubmitUntilRelaunched(pool, [2]);
        _launcher[_settings.MaxFailedStarts].Exit(4);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => later.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Contains("failed to start", error.Message);
        Assert.Equal(_settings.MaxFailedStarts + 1, _launcher.Launched.Count);
    }

    [Fact]
    public async Task An_initializer_that_runs_past_its_timeout_fails_the_calls_with_a_TimeoutException_naming_the_key()
    {
        _settings = _settings with { InitializerTimeout = TimeSpan.FromMilliseconds(300) };
        var pool = await StartPool(1, _codec.Encode("init", "the initializer"));
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);
        var worker = CreateTestProbe();
        pool.Tell(new RegisterWorker(Token, _launcher[0].Pid), worker.Ref);
        await worker.ExpectMsgAsync<Welcome>();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Contains("initializer did not finish", error.Message);
        Assert.Contains("multiproc.pool.initializer-timeout", error.Message);
        Assert.True(_launcher[0].Killed);
        var later = Submit(pool, jobId: 2, [2], chunkSize: 1);
        await Assert.ThrowsAsync<TimeoutException>(() => later.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task Only_the_chunk_a_dead_worker_was_executing_is_charged_a_try_and_those_queued_behind_it_run_again_untouched()
    {
        _settings = _settings with { MaxTries = 1 };
        var (pool, directory) = await StartPoolWithDirectory();
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1, 2], chunkSize: 1);
        var first = await NextChunk(worker);
        var second = await NextChunk(worker);

        // The worker's file says what it was executing when it was killed: the first chunk.
        using (var running = RunningChunkFile.Create(directory, _launcher[0].Pid)!)
            running.Begin(first.JobId, first.ChunkIndex);
        _launcher[0].Exit(137);

        var replacement = await Register(pool, 1);
        var again = await NextChunk(replacement);
        Assert.Equal(second.Start, again.Start);
        await ExpectNoChunk(replacement, Quiet);
        Reply(pool, replacement, again, x => x * 10);
        // max-tries = 1: the executing chunk is lost at once; the queued one was not charged.
        var error = await Assert.ThrowsAsync<WorkerCrashedException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal(0, error.TaskIndex);
    }

    [Fact]
    public async Task A_lone_chunk_that_had_not_started_when_its_worker_was_killed_is_not_charged_a_try()
    {
        _settings = _settings with { MaxTries = 1 };
        var (pool, directory) = await StartPoolWithDirectory();
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);
        var chunk = await NextChunk(worker);

        // Between two chunks (or before the first): nothing executing.
        using (var running = RunningChunkFile.Create(directory, _launcher[0].Pid)!)
        {
            running.Begin(7, 0);
            running.End();
        }
        _launcher[0].Exit(137);

        var replacement = await Register(pool, 1);
        Reply(pool, replacement, await NextChunk(replacement), x => x * 10);
        Assert.Equal(new[] { 10 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task A_worker_that_dies_on_its_own_between_tasks_is_blamed_as_without_its_file_so_the_call_ends()
    {
        // A task's background thread (or a bus error) ending the process after the task returned:
        // "nothing was running" must not spare the chunk every time, or the call would loop forever.
        _settings = _settings with { MaxTries = 1 };
        var (pool, directory) = await StartPoolWithDirectory();
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);
        await NextChunk(worker);

        using (var running = RunningChunkFile.Create(directory, _launcher[0].Pid)!)
        {
            running.Begin(1, 0);
            running.End();
        }
        _launcher[0].Exit(1);

        var error = await Assert.ThrowsAsync<WorkerCrashedException>(() => sink.Completion.Task.WaitAsync(RemainingOrDefault));
        Assert.Equal(0, error.TaskIndex);
    }

    /// <summary>A one-worker pool with a shared-memory directory, where its workers keep their running-chunk files.</summary>
    private async Task<(IActorRef Pool, string Directory)> StartPoolWithDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"multiproc-spec-{Guid.NewGuid():N}");
        var slots = SharedSlots.Create(directory, 1 << 20, 0) ?? throw new InvalidOperationException("no shared-memory directory");
        return (await StartPool(1, codec: _codec.WithSlots(slots)), directory);
    }

    [Fact]
    public async Task A_worker_gets_no_more_than_maxtasksperchild_tasks_and_is_then_replaced()
    {
        _maxTasks = 1;
        var pool = await StartPool(1);
        var first = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1, 2, 3], chunkSize: 1);

        var chunk = await NextChunk(first);
        await ExpectNoChunk(first, Quiet); // prefetch would allow 2; the quota allows 1
        Reply(pool, first, chunk, x => x);
        await first.ExpectMsgAsync<Retire>();

        var second = await Register(pool, 1);
        Reply(pool, second, await NextChunk(second), x => x);
        await second.ExpectMsgAsync<Retire>();
        var third = await Register(pool, 2);
        Reply(pool, third, await NextChunk(third), x => x);

        Assert.Equal(new[] { 1, 2, 3 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    [Fact]
    public async Task Close_with_maxtasksperchild_launches_no_replacement_once_the_queue_is_empty()
    {
        _maxTasks = 1;
        var pool = await StartPool(1);
        var worker = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [1], chunkSize: 1);
        pool.Tell(ClosePool.Instance);
        Reply(pool, worker, await NextChunk(worker), x => x);
        await worker.ExpectMsgAsync<Retire>();
        _launcher[0].Exit(0);

        await _allExited.Task.WaitAsync(RemainingOrDefault);
        Assert.Single(_launcher.Launched);
        await sink.Completion.Task.WaitAsync(RemainingOrDefault);
    }

    [Fact]
    public async Task A_stream_hands_out_chunks_as_they_are_added_and_ending_it_drops_what_is_queued()
    {
        var pool = await StartPool(1);
        var worker = await Register(pool, 0);
        var sink = new StreamRecorder();
        pool.Tell(new OpenStream(1, new EncodedFunction(_codec.Encode("function", "function")), sink));
        for (var i = 0; i < 3; i++)
            pool.Tell(new AddChunk(1, new ChunkSpec(i, i, 1, _codec.Encode(new[] { i }, "items"))));

        var c0 = await NextChunk(worker);
        var c1 = await NextChunk(worker);
        Reply(pool, worker, c1, x => x * 2);
        await AwaitConditionAsync(() => Task.FromResult(sink.Chunks.Count == 1));
        Assert.Equal(new[] { 2 }, (int[])sink.Chunks.Single().Results!);

        var c2 = await NextChunk(worker);
        pool.Tell(new EndStream(1));
        Reply(pool, worker, c0, x => x);
        Reply(pool, worker, c2, x => x);
        Submit(pool, jobId: 2, [9], chunkSize: 1);
        var next = await NextChunk(worker);
        Assert.Equal(2, next.JobId);
        Assert.Contains(1L, next.ForgetJobs);
        Assert.Single(sink.Chunks); // results after the end go nowhere
    }

    private sealed class StreamRecorder : IStreamSink
    {
        public System.Collections.Concurrent.ConcurrentQueue<(int Index, object? Results, Exception? Error)> Chunks { get; } = new();

        public void Chunk(int chunkIndex, object? results, Exception? error) => Chunks.Enqueue((chunkIndex, results, error));

        public void Fail(Exception error) => Chunks.Enqueue((-1, null, error));
    }

    [Fact]
    public async Task Workers_dying_one_after_another_are_replaced_with_a_growing_delay()
    {
        _settings = _settings with { RespawnBackoffMin = TimeSpan.FromSeconds(2), MaxTries = 10 };
        var pool = await StartPool(1);
        Submit(pool, jobId: 1, [1], chunkSize: 1);

        var first = await Register(pool, 0);
        await NextChunk(first);
        _launcher[0].Exit(137);
        await AwaitConditionAsync(() => Task.FromResult(_launcher.Launched.Count == 2)); // the first replacement is immediate

        var second = await Register(pool, 1);
        await NextChunk(second);
        _launcher[1].Exit(137);
        await CreateTestProbe().ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300)); // a window in which nothing may launch
        Assert.Equal(2, _launcher.Launched.Count);      // the second waits out its back-off
        await AwaitConditionAsync(() => Task.FromResult(_launcher.Launched.Count == 3));
    }

    [Fact]
    public async Task A_worker_whose_actor_is_gone_is_killed_and_its_chunks_run_elsewhere()
    {
        var pool = await StartPool(2);
        var frozen = await Register(pool, 0);
        var sink = Submit(pool, jobId: 1, [7], chunkSize: 1);
        await NextChunk(frozen);
        var healthy = await Register(pool, 1);

        Sys.Stop(frozen.Ref); // what DeathWatch reports for a worker frozen past the failure detector

        await AwaitConditionAsync(() => Task.FromResult(_launcher[0].Killed));
        var again = await NextChunk(healthy);
        Reply(pool, healthy, again, x => x * 3);
        Assert.Equal(new[] { 21 }, await sink.Completion.Task.WaitAsync(RemainingOrDefault));
    }

    private async Task<IActorRef> StartPool(int processes, Payload? initializer = null, PayloadCodec? codec = null)
    {
        var setup = new PoolSetup(processes, _maxTasks, Token, initializer, _settings, _launcher, codec ?? _codec, _allExited);
        var pool = Sys.ActorOf(PoolActor.Props(setup));
        await pool.Ask<Started>(Start.Instance, RemainingOrDefault);
        return pool;
    }

    // Chunks dispatched in one pass reach a worker as one RunChunks message: the rest wait here.
    private readonly Dictionary<TestProbe, Queue<RunChunk>> _pendingChunks = new();

    /// <summary>The next chunk handed to <paramref name="worker"/>, alone or in a batch.</summary>
    private async Task<RunChunk> NextChunk(TestProbe worker)
    {
        if (_pendingChunks.TryGetValue(worker, out var pending) && pending.Count > 0)
            return pending.Dequeue();
        var message = await worker.ExpectMsgAsync<object>(m => m is RunChunk or RunChunks);
        if (message is RunChunk chunk)
            return chunk;
        var batch = ((RunChunks)message).Chunks;
        if (!_pendingChunks.TryGetValue(worker, out pending))
            _pendingChunks[worker] = pending = new Queue<RunChunk>();
        foreach (var later in batch.Skip(1))
            pending.Enqueue(later);
        return batch[0];
    }

    /// <summary>No chunk is handed to <paramref name="worker"/>, in a batch already seen or for <paramref name="quiet"/>.</summary>
    private async Task ExpectNoChunk(TestProbe worker, TimeSpan quiet)
    {
        Assert.True(!_pendingChunks.TryGetValue(worker, out var pending) || pending.Count == 0, "a chunk came in a batch");
        await worker.ExpectNoMsgAsync(quiet);
    }

    private async Task<TestProbe> Register(IActorRef pool, int launchedIndex)
    {
        // A replacement is launched asynchronously, after the pool hears of its predecessor's exit.
        await AwaitConditionAsync(() => Task.FromResult(_launcher.Launched.Count > launchedIndex));
        var worker = CreateTestProbe();
        pool.Tell(new RegisterWorker(Token, _launcher[launchedIndex].Pid), worker.Ref);
        await worker.ExpectMsgAsync<Welcome>();
        pool.Tell(WorkerReady.Instance, worker.Ref);
        return worker;
    }

    private RecordingSink<int> Submit(IActorRef pool, long jobId, int[] items, int chunkSize, int functionId = 0)
    {
        var sink = new RecordingSink<int>(items.Length);
        var chunks = items.Chunk(chunkSize)
            .Select((chunk, index) => new ChunkSpec(index, index * chunkSize, chunk.Length, _codec.Encode(chunk, "items")))
            .ToList();
        pool.Tell(new SubmitJob(new JobSpec(jobId, new EncodedFunction(_codec.Encode("function", "function"), functionId), chunks, sink)));
        return sink;
    }

    /// <summary>Submits a call every 50 ms until one makes a broken pool launch a worker again; returns that call.</summary>
    private async Task<RecordingSink<int>> SubmitUntilRelaunched(IActorRef pool, int[] items)
    {
        var launched = _launcher.Launched.Count;
        RecordingSink<int>? sink = null;
        var jobId = 100;
        var deadline = DateTime.UtcNow + RemainingOrDefault;
        do
        {
            Assert.True(DateTime.UtcNow < deadline, "the broken pool launched no worker for a call after its back-off");
            sink = Submit(pool, jobId++, items, chunkSize: 1);
            // A refused call fails at once; one the pool took waits for a worker.
            await Task.WhenAny(sink.Completion.Task, Task.Delay(50));
        }
        while (_launcher.Launched.Count == launched);
        return sink!;
    }

    private void Reply(IActorRef pool, TestProbe worker, RunChunk chunk, Func<int, int> function)
    {
        var items = (int[])_codec.Decode(chunk.Items)!;
        pool.Tell(new ChunkDone(chunk.JobId, chunk.ChunkIndex, _codec.Encode(items.Select(function).ToArray(), "results")), worker.Ref);
    }
}
