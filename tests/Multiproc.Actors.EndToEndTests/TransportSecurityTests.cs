using System.Diagnostics;
using Akka.Actor;
using Multiproc.Actors.EndToEndTests.Infrastructure;
using Multiproc.Actors.Worker;
using static Multiproc.Actors.EndToEndTests.Infrastructure.Deadline;

namespace Multiproc.Actors.EndToEndTests;

/// <summary>
/// A stranger — another OS process that knows the ports and actor paths (both public: /proc/net/tcp
/// and the actor names) but did not get the context's key — attacks the caller and a worker the way
/// the issue found worked before: a forged job, registration and terminate for the pool actor, a
/// message nested deep enough to overflow the stack of whoever deserializes it, a TLS client with a
/// certificate of its own, and raw bytes. Its connection is refused before a byte of payload is
/// deserialized: nothing is obeyed, no process crashes, the pool keeps its workers and answers.
/// When run as root, the same attacks also come from a separate local user made for the test.
/// </summary>
public sealed class TransportSecurityTests(SharedPoolFixture fixture) : IClassFixture<SharedPoolFixture>
{
    private static readonly TimeSpan AttackLimit = TimeSpan.FromSeconds(60);

    [Fact]
    public Task A_plain_Akka_stranger_forging_a_job_a_registration_and_a_terminate_gets_nothing_obeyed() =>
        Bounded(() => ForgedJob(null, "forged-job"));

    [Fact]
    public Task A_TLS_stranger_with_a_certificate_of_its_own_gets_nothing_obeyed() =>
        Bounded(() => ForgedJob(null, "other-cert"));

    [Fact]
    public Task A_message_nested_100000_deep_sent_to_the_caller_and_a_worker_crashes_neither() => Bounded(async () =>
    {
        var before = await WorkerPids();
        var workerAddress = await WorkerAddress();
        foreach (var target in new[] { $"{CallerAddress}/user/anything", $"{workerAddress}/user/{WorkerProgram.WorkerActorName}" })
        {
            var output = await Attack(null, "deep", target);
            Assert.Contains("association ended", output);
        }
        await AssertPoolServes(before);
    });

    [Fact]
    public Task Raw_bytes_sent_to_the_caller_and_a_worker_are_refused() => Bounded(async () =>
    {
        var before = await WorkerPids();
        foreach (var address in new[] { CallerAddress, await WorkerAddress() })
        {
            var output = await Attack(null, "garbage", address.Host!, address.Port!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Contains("connection closed by the server", output);
        }
        await AssertPoolServes(before);
    });

    [RootFact]
    public Task Another_local_user_gets_nothing_obeyed_either() => Bounded(async () =>
    {
        using var user = LocalUser.Create();
        await ForgedJob(user, "forged-job");
        await ForgedJob(user, "other-cert");
        var before = await WorkerPids();
        Assert.Contains("association ended", await Attack(user, "deep", $"{CallerAddress}/user/anything"));
        Assert.Contains("connection closed by the server", await Attack(user, "garbage", CallerAddress.Host!,
            CallerAddress.Port!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await AssertPoolServes(before);
    }, TimeSpan.FromSeconds(240));

    private async Task ForgedJob(LocalUser? user, string kind)
    {
        var before = await WorkerPids();
        var marker = Path.Combine(Path.GetTempPath(), $"multiproc-forged-{Guid.NewGuid():N}");
        try
        {
            var output = await Attack(user, kind, Akka.Serialization.Serialization.SerializedActorPath(fixture.Pool.Actor), marker);
            await AssertPoolServes(before);
            Assert.False(File.Exists(marker), "a worker ran a job forged by a stranger");
            // Refused at the transport, not merely ignored by the pool actor.
            Assert.Contains("association ended", output);
        }
        finally
        {
            File.Delete(marker);
        }
    }

    private Address CallerAddress => ((ExtendedActorSystem)fixture.Context.System).Provider.DefaultAddress;

    /// <summary>The pool still has the same workers (none crashed, none was terminated) and computes right.</summary>
    private async Task AssertPoolServes(int[] workersBefore)
    {
        Assert.Equal(Enumerable.Range(1, 8), await Call(() => fixture.Pool.Map(x => x + 1, Enumerable.Range(0, 8), chunksize: 1)));
        Assert.Equal(workersBefore, await WorkerPids());
    }

    private async Task<int[]> WorkerPids()
    {
        // Enough tiny tasks that both workers take some (a fast one cannot take all 64 while the other waits).
        var pids = await Call(() => fixture.Pool.Map(_ => { Thread.Sleep(5); return Environment.ProcessId; }, Enumerable.Range(0, 64), chunksize: 1));
        return pids.Distinct().Order().ToArray();
    }

    private async Task<Address> WorkerAddress() =>
        Address.Parse(await Call(() => fixture.Pool.Apply(() => ((ExtendedActorSystem)WorkerProgram.System!).Provider.DefaultAddress.ToString())));

    /// <summary>Runs the attacker (ProcessTestApp attack ...) as a separate process, as <paramref name="user"/> if given.</summary>
    private static async Task<string> Attack(LocalUser? user, params string[] args)
    {
        var dll = System.Reflection.CustomAttributeExtensions.GetCustomAttributes<System.Reflection.AssemblyMetadataAttribute>(typeof(TransportSecurityTests).Assembly)
            .Single(a => a.Key == "ProcessTestApp").Value!;
        var start = new ProcessStartInfo(user is null ? Programs.Dotnet : "setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (user is not null)
        {
            foreach (var arg in new[] { $"--reuid={user.Uid}", $"--regid={user.Gid}", "--clear-groups", "--", Programs.Dotnet })
                start.ArgumentList.Add(arg);
            start.Environment["HOME"] = user.Home;
            start.Environment["DOTNET_CLI_HOME"] = user.Home;
        }
        foreach (var arg in new[] { "exec", Path.GetFullPath(dll), "attack" }.Concat(args))
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(AttackLimit);
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
        var output = $"{await stdout}\n{await stderr}";
        Assert.True(process.ExitCode == 0, $"the attacker failed (exit code {process.ExitCode}):\n{output}");
        return output;
    }
}

/// <summary>A test that runs only as root (it creates a local user); skipped otherwise, with the reason shown.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !LocalUser.RunningAsRoot())
            Skip = "Runs only as root: it creates a separate local user to attack from.";
    }
}

/// <summary>A local user made for one test (useradd) and deleted after it (userdel).</summary>
internal sealed class LocalUser : IDisposable
{
    private LocalUser(string name, int uid, int gid, string home)
    {
        Name = name;
        Uid = uid;
        Gid = gid;
        Home = home;
    }

    public string Name { get; }

    public int Uid { get; }

    public int Gid { get; }

    /// <summary>A home of its own under /tmp, for whatever the .NET host wants to write.</summary>
    public string Home { get; }

    /// <summary>Whether this process's effective uid is 0 (the second field of /proc/self/status's Uid line).</summary>
    public static bool RunningAsRoot() =>
        File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            .Split('\t', StringSplitOptions.RemoveEmptyEntries)[2] == "0";

    public static LocalUser Create()
    {
        var name = $"mpatk{Guid.NewGuid():N}"[..16];
        var home = Directory.CreateTempSubdirectory("multiproc-attacker-").FullName;
        Run("useradd", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", "--user-group", name);
        try
        {
            var uid = int.Parse(Run("id", "-u", name).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            var gid = int.Parse(Run("id", "-g", name).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Run("chown", $"{uid}:{gid}", home);
            return new LocalUser(name, uid, gid, home);
        }
        catch
        {
            Run("userdel", name);
            throw;
        }
    }

    public void Dispose()
    {
        Run("userdel", Name);
        Directory.Delete(Home, recursive: true);
    }

    private static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new TimeoutException($"{file} did not finish within 30 s");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }
}
