namespace Multiproc.Actors.Launching;

/// <summary>
/// Where the worker's runtime pieces are: the <c>dotnet</c> host, the caller's runtimeconfig and deps
/// files, and this library's own assembly, which carries the worker entry point.
/// </summary>
internal sealed record HostPaths(string Dotnet, string RuntimeConfig, string DepsFile, string LibraryAssembly)
{
    /// <summary>The paths for this process, or an exception that says why workers cannot be started here.</summary>
    public static HostPaths Discover()
    {
        var library = typeof(HostPaths).Assembly.Location;
        if (string.IsNullOrEmpty(library))
            throw new PlatformNotSupportedException(
                "Multiproc.Actors cannot start worker processes from a single-file app: the worker host needs Multiproc.Actors.dll on disk.");
        // The app's own deps file comes first; the framework's follow. Under `dotnet test` it is the
        // test assembly's, not the test host's, so a worker resolves exactly what the caller resolves.
        var deps = (AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string)?
            .Split(';', StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(File.Exists)
            ?? throw new PlatformNotSupportedException(
                "Multiproc.Actors cannot find this app's .deps.json file, which a worker process needs to load the app's assemblies.");
        var runtimeConfig = deps.EndsWith(".deps.json", StringComparison.OrdinalIgnoreCase)
            ? deps[..^".deps.json".Length] + ".runtimeconfig.json"
            : Path.ChangeExtension(deps, ".runtimeconfig.json");
        if (!File.Exists(runtimeConfig))
            throw new PlatformNotSupportedException(
                $"Multiproc.Actors cannot find {runtimeConfig}: worker processes run framework-dependent with the caller's runtime " +
                "configuration, so self-contained apps are not supported.");
        return new HostPaths(FindDotnet(), runtimeConfig, deps, library);
    }

    private static string FindDotnet()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
            return hostPath;
        // An apphost ignores --depsfile, so only the muxer itself will do.
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet")
            return self;
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, "dotnet")))
            return Path.Combine(root, "dotnet");
        var runtimeDir = Path.GetDirectoryName(typeof(object).Assembly.Location);
        // .../dotnet/shared/Microsoft.NETCore.App/<version>/ → .../dotnet/dotnet
        if (runtimeDir is not null && Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", "..", "dotnet")) is var muxer && File.Exists(muxer))
            return muxer;
        return "dotnet";
    }
}
