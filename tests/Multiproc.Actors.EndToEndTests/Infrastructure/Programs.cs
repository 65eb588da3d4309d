using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Multiproc.Actors.EndToEndTests.Infrastructure;

/// <summary>The helper programs built beside this test project, and a way to run them.</summary>
internal static class Programs
{
    public static string Dotnet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public static string TestApp => Path("TestApp");

    public static string QuickStart => Path("QuickStart");

    public static string ProcessTestApp => Path("ProcessTestApp");

    private static string Path(string key)
    {
        var value = typeof(Programs).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == key).Value!;
        var path = System.IO.Path.GetFullPath(value);
        Assert.True(File.Exists(path), $"{key} is not built at {path}");
        return path;
    }
}

/// <summary>A program run with `dotnet exec`, its standard output and error collected line by line.</summary>
internal sealed class RunningProgram : IDisposable
{
    private readonly BlockingCollection<string> _lines = new();
    private readonly StringBuilder _all = new();
    private readonly StringBuilder _errors = new();

    private RunningProgram(Process process) => Process = process;

    public Process Process { get; }

    public int Pid => Process.Id;

    /// <summary>Standard output so far.</summary>
    public string Output
    {
        get
        {
            lock (_all)
                return _all.ToString();
        }
    }

    /// <summary>Standard error so far.</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
                return _errors.ToString();
        }
    }

    public static RunningProgram Start(string dll, params string[] args)
    {
        var start = new ProcessStartInfo(Programs.Dotnet)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        var process = new Process { StartInfo = start };
        var program = new RunningProgram(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                program._lines.CompleteAdding();
                return;
            }
            lock (program._all)
                program._all.AppendLine(e.Data);
            program._lines.Add(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (program._errors)
                program._errors.AppendLine(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return program;
    }

    /// <summary>Waits (bounded) for an output line equal to <paramref name="line"/>.</summary>
    public Task WaitForLine(string line, TimeSpan limit) =>
        Deadline.Call(() =>
        {
            using var cancel = new CancellationTokenSource(limit);
            try
            {
                foreach (var received in _lines.GetConsumingEnumerable(cancel.Token))
                {
                    if (received == line)
                        return;
                }
            }
            catch (OperationCanceledException)
            {
            }
            Assert.Fail($"No line \"{line}\" within {limit}. Exited: {Process.HasExited}. Output:\n{Output}\nErrors:\n{Errors}");
        }, limit + TimeSpan.FromSeconds(5));

    /// <summary>Waits (bounded) for the program to exit and for its output to end.</summary>
    public async Task WaitForExit(TimeSpan limit)
    {
        using var cancel = new CancellationTokenSource(limit);
        try
        {
            await Process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The program did not exit within {limit}. Output:\n{Output}\nErrors:\n{Errors}");
        }
    }

    /// <summary>SIGKILLs the program if it still runs.</summary>
    public void Kill()
    {
        try
        {
            if (!Process.HasExited)
                Process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }

    public void Dispose()
    {
        Kill();
        // Reap it, so no zombie is left behind.
        Process.WaitForExit(5000);
        Process.Dispose();
    }
}
