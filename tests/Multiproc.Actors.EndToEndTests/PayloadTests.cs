using System.Text.RegularExpressions;
using Akka.Configuration;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>Arguments and results of several MiB travel under the default limit.</summary>
[Collection(SharedPoolCollection.Name)]
public sealed class LargePayloadTests(SharedPoolFixture fixture)
{
    private const int FourMiB = 4 * 1024 * 1024;

    [Fact]
    public Task A_4_MiB_argument_reaches_the_worker_intact() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var data = Payloads.Pattern(FourMiB, seed: 11);

        var results = await Call(() => pool.Map(Payloads.Checksum, new[] { data }));

        Assert.Equal(Payloads.Checksum(data), Assert.Single(results));
    });

    [Fact]
    public Task A_4_MiB_result_comes_back_intact() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var results = await Call(() => pool.Map(seed => Payloads.Pattern(FourMiB, seed), new[] { 5, 6 }, chunksize: 1));

        Assert.Equal(2, results.Count);
        Assert.Equal(Payloads.Pattern(FourMiB, 5), results[0]);
        Assert.Equal(Payloads.Pattern(FourMiB, 6), results[1]);
    });

    [Fact]
    public Task A_4_MiB_array_round_trips_through_a_task() => Bounded(async () =>
    {
        var pool = fixture.Pool;
        var data = Payloads.Pattern(FourMiB, seed: 3);

        var results = await Call(() => pool.Map(Payloads.Reversed, new[] { data }));

        Assert.Equal(Payloads.Reversed(data), Assert.Single(results));
    });

    [Fact]
    public Task A_long_exception_message_comes_back_whole() => Bounded(async () =>
    {
        var pool = fixture.Pool;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Call(() =>
            pool.Map<int, int>(n => throw new InvalidOperationException(new string('m', n)), new[] { 2 * 1024 * 1024 })));

        Assert.Equal(2 * 1024 * 1024, error.Message.Length);
        Assert.All(error.Message, c => Assert.Equal('m', c));
    });
}

/// <summary>A context with a 1 MiB limit: what is over it fails that call, clearly, and the pool goes on.</summary>
public sealed class PayloadLimitTests(PayloadLimitTests.LimitedPoolFixture fixture) : IClassFixture<PayloadLimitTests.LimitedPoolFixture>
{
    private const long Limit = 1024 * 1024;
    private const string Key = "multiproc.maximum-message-size";

    private ProcessPool Pool => fixture.Pool!;

    public sealed class LimitedPoolFixture : IAsyncLifetime
    {
        private MultiprocContext? _context;

        public ProcessPool? Pool { get; private set; }

        public async Task InitializeAsync()
        {
            _context = MultiprocContext.Create(ConfigurationFactory.ParseString($"{Key} = 1 MiB"));
            Pool = await Call(() => new ProcessPool(1, context: _context));
        }

        public async Task DisposeAsync()
        {
            try
            {
                await Deadline.Dispose(Pool);
            }
            finally
            {
                await Deadline.Dispose(_context);
            }
        }
    }

    [Fact]
    public Task An_argument_over_the_limit_throws_ArgumentException_naming_size_limit_and_key() => Bounded(async () =>
    {
        var pool = Pool;
        var data = new byte[2 * 1024 * 1024];

        var error = Assert.Throws<ArgumentException>(() => pool.Map(Payloads.Checksum, new[] { data }));
        AssertNamesSizeLimitAndKey(error.Message, atLeast: data.Length);
        Assert.Throws<ArgumentException>(() => pool.MapAsync(Payloads.Checksum, new[] { data }));

        // The pool goes on working, with payloads under the limit.
        var small = Payloads.Pattern(100_000, 1);
        Assert.Equal(Payloads.Checksum(small), Assert.Single(await Call(() => pool.Map(Payloads.Checksum, new[] { small }))));
    });

    [Fact]
    public Task A_closure_over_the_limit_throws_ArgumentException_naming_size_limit_and_key() => Bounded(async () =>
    {
        var pool = Pool;
        var func = Payloads.Capturing(new byte[2 * 1024 * 1024]);

        var error = Assert.Throws<ArgumentException>(() => pool.Map(func, new[] { 1 }));

        AssertNamesSizeLimitAndKey(error.Message, atLeast: 2 * 1024 * 1024);
        Assert.Equal(new[] { 2 }, await Call(() => pool.Map(x => x + 1, new[] { 1 })));
    });

    [Fact]
    public Task A_result_over_the_limit_fails_the_call_with_ArgumentException_naming_size_limit_and_key() => Bounded(async () =>
    {
        var pool = Pool;

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Call(() =>
            pool.Map(n => new byte[n], new[] { 2 * 1024 * 1024 })));

        AssertNamesSizeLimitAndKey(error.Message, atLeast: 2 * 1024 * 1024);
        Assert.Equal(new[] { 2 }, await Call(() => pool.Map(x => x + 1, new[] { 1 })));
    });

    [Fact]
    public Task Payloads_under_the_limit_travel() => Bounded(async () =>
    {
        var pool = Pool;
        var data = Payloads.Pattern(512 * 1024, 9);

        var results = await Call(() => pool.Map(Payloads.Reversed, new[] { data }));

        Assert.Equal(Payloads.Reversed(data), Assert.Single(results));
    });

    private static void AssertNamesSizeLimitAndKey(string message, long atLeast)
    {
        Assert.Contains(Key, message);
        var numbers = Regex.Matches(message, @"\d[\d,.\u00a0\u202f ]*\d|\d")
            .Select(m => long.TryParse(Regex.Replace(m.Value, @"[^\d]", ""), out var n) ? n : -1)
            .ToList();
        Assert.True(numbers.Contains(Limit), $"the limit ({Limit}) is not in: {message}");
        Assert.True(numbers.Any(n => n >= atLeast), $"no size of at least {atLeast} bytes in: {message}");
    }
}

internal static class Payloads
{
    public static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static long Checksum(byte[] data)
    {
        long sum = data.Length;
        for (var i = 0; i < data.Length; i++)
            sum = sum * 31 + data[i];
        return sum;
    }

    public static byte[] Reversed(byte[] data)
    {
        var copy = (byte[])data.Clone();
        Array.Reverse(copy);
        return copy;
    }

    public static Func<int, int> Capturing(byte[] captured) => x => x + captured.Length;
}
