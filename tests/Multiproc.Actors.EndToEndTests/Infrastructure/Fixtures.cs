namespace Multiproc.Actors.EndToEndTests.Infrastructure;

/// <summary>
/// A context of its own for one test class: every pool a test makes in it is ended by the
/// context's disposal at the latest, even when the test failed or hung.
/// </summary>
public class ContextFixture : IAsyncLifetime
{
    public MultiprocContext Context { get; private set; } = null!;

    public virtual Task InitializeAsync()
    {
        Context = MultiprocContext.Create();
        return Task.CompletedTask;
    }

    public virtual Task DisposeAsync() => Deadline.Dispose(Context);
}

/// <summary>A context with one warmed-up two-worker pool, shared by the tests of a collection.</summary>
public sealed class SharedPoolFixture : ContextFixture
{
    public ProcessPool Pool { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        try
        {
            Pool = await Deadline.Call(() => new ProcessPool(2, context: Context));
            // Pay the workers' start-up here rather than in the first test.
            await Deadline.Call(() => Pool.Map(x => x, Enumerable.Range(0, 8), chunksize: 1));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public override async Task DisposeAsync()
    {
        try
        {
            await Deadline.Dispose(Pool);
        }
        finally
        {
            await base.DisposeAsync();
        }
    }
}

/// <summary>The tests that share one pool: they run one after another, on the same two workers.</summary>
[CollectionDefinition(Name)]
public sealed class SharedPoolCollection : ICollectionFixture<SharedPoolFixture>
{
    public const string Name = "Shared pool";
}

/// <summary>Tests that watch processes against a tight deadline run alone, after the others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial";
}
