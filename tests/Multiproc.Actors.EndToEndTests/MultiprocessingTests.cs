using Multiproc.Actors.EndToEndTests.Infrastructure;
using Xunit;
using static Multiproc.Actors.EndToEndTests.Infrastructure.ProcessTestHelpers3;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>The module-level helpers, in the caller and in pool workers.</summary>
public sealed class MultiprocessingTests(SharedContext3 shared) : IClassFixture<SharedContext3>
{
    [Fact]
    public void CpuCount_is_the_processors_this_process_may_use()
    {
        Assert.Equal(Environment.ProcessorCount, Multiprocessing.CpuCount());
        Assert.True(Multiprocessing.CpuCount() >= 1);
    }

    [Fact]
    public void CurrentProcess_in_the_caller_is_MainProcess_with_its_pid()
    {
        Assert.Equal(new ProcessInfo("MainProcess", Environment.ProcessId), Multiprocessing.CurrentProcess());
    }

    [Fact]
    public async Task CurrentProcess_in_a_pool_worker_names_the_worker()
    {
        await using var pool = shared.Context.Pool(processes: 1);

        var info = (await Bounded(() => pool.Map(static (int _) => Multiprocessing.CurrentProcess(), [0])))[0];

        Assert.NotEqual(Environment.ProcessId, info.Pid);
        Assert.Equal($"PoolWorker-{info.Pid}", info.Name);
    }
}
