using System.Diagnostics;
using System.Reflection;
using System.Text;
using Akka.Configuration;
using Xunit;

namespace Multiproc.Actors.EndToEndTests.Infrastructure;

/// <summary>Bounded waits, program runs and process checks for the queue and child-process tests.</summary>
internal static class ProcessTestHelpers3
{
    /// <summary>A generous bound for anything that starts processes: a liveness deadline, not a timing assert.</summary>
    public static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);

    /// <summary>Runs a blocking call on the thread pool and fails if it has not finished within <see cref="Liveness"/>.</summary>
    public static Task<T> Bounded<T>(Func<T> blocking, TimeSpan? timeout = null) => Task.Run(blocking).WaitAsync(timeout ?? Liveness);

    /// <inheritdoc cref="Bounded{T}(Func{T}, TimeSpan?)"/>
    public static Task Bounded(Action blocking, TimeSpan? timeout = null) => Task.Run(blocking).WaitAsync(timeout ?? Liveness);

    /// <summary>Polls <paramref name="condition"/> until it holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task Eventually(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
                Assert.Fail($"Not true within {timeout}: {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>True while the process runs (a zombie waiting to be reaped counts as gone).</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The state follows the parenthesized command name: "pid (comm) S ...".
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A context of its own for a test class, with configuration overrides.</summary>
    public static MultiprocContext CreateContext(string? hocon = null) =>
        MultiprocContext.Create(hocon is null ? null : ConfigurationFactory.ParseString(hocon));

    /// <summary>Runs a program built beside the tests (named by an assembly metadata key) and returns what it printed.</summary>
    public static async Task<ProgramRun> RunProgramAsync(string name, params string[] args)
    {
        var dll = typeof(ProcessTestHelpers3).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == name).Value!;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Liveness);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new ProgramRun(process.ExitCode, await stdout, await stderr, process.Id);
    }
}

/// <summary>How a program run ended and what it printed.</summary>
internal sealed record ProgramRun(int ExitCode, string Stdout, string Stderr, int Pid)
{
    public override string ToString() => new StringBuilder()
        .AppendLine($"exit code {ExitCode}")
        .AppendLine("--- stdout ---").AppendLine(Stdout)
        .AppendLine("--- stderr ---").AppendLine(Stderr)
        .ToString();
}

/// <summary>One context shared by the tests of a class; disposing it ends every process they started.</summary>
public sealed class SharedContext3 : IAsyncLifetime
{
    public MultiprocContext Context { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Context = MultiprocContext.Create();
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => Task.Run(Context.Dispose);
}
