using System.Reflection;
using System.Runtime.Loader;
using System.Runtime.Serialization;

namespace Multiproc.Actors.Functions;

/// <summary>
/// Loads the types a message names (a function's declaring type, a closure's, an exception's)
/// without leaving the caller's application: by name, which the default load context answers
/// only from the assemblies the app's deps file names, the framework and what is already loaded;
/// and, for an assembly the caller loaded from a path of its own, from that path only when it lies
/// under the application's directory. A path anywhere else (a dll dropped in /tmp) is refused, so a
/// message cannot make a process load code the application does not ship.
/// </summary>
internal static class TypeLoader
{
    private static readonly Lazy<string> AppDirectoryValue = new(FindAppDirectory);

    /// <summary>The directory of the application's deps file (a worker runs with the caller's), where its own assemblies are.</summary>
    public static string AppDirectory => AppDirectoryValue.Value;

    /// <summary>The type <paramref name="assemblyQualifiedName"/> names, loaded only from the application.</summary>
    /// <exception cref="SerializationException"><paramref name="assemblyPath"/> is outside the application.</exception>
    /// <exception cref="TypeLoadException">No such type.</exception>
    /// <exception cref="FileNotFoundException">No such assembly in the application.</exception>
    public static Type Load(string assemblyQualifiedName, string? assemblyPath = null) =>
        Type.GetType(assemblyQualifiedName, name => LoadAssembly(name, assemblyPath), typeResolver: null, throwOnError: true)!;

    /// <summary>The type, or null when it does not load from the application (never a path: exceptions name none).</summary>
    public static Type? TryLoad(string assemblyQualifiedName)
    {
        try
        {
            return Type.GetType(assemblyQualifiedName, name => LoadAssembly(name, null), typeResolver: null, throwOnError: false);
        }
        catch (Exception e) when (e is IOException or BadImageFormatException or TypeLoadException or ArgumentException or SerializationException)
        {
            return null;
        }
    }

    private static Assembly LoadAssembly(AssemblyName name, string? assemblyPath)
    {
        try
        {
            return AssemblyLoadContext.Default.LoadFromAssemblyName(name);
        }
        catch (FileNotFoundException) when (assemblyPath is not null)
        {
            var path = Path.GetFullPath(assemblyPath);
            if (!IsUnder(path, AppDirectory))
                throw new SerializationException(
                    $"Refused to load assembly '{name.Name}' from '{assemblyPath}': it is not one the application's deps file names, " +
                    $"and it is outside the application's directory ({AppDirectory}). A worker runs only code the caller's application ships.");
            if (!File.Exists(path) || AssemblyName.GetAssemblyName(path).Name != name.Name)
                throw;
            return AssemblyLoadContext.Default.LoadFromAssemblyPath(path);
        }
    }

    private static bool IsUnder(string path, string directory)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + Path.DirectorySeparatorChar;
        return path.StartsWith(root, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
    }

    private static string FindAppDirectory()
    {
        var deps = (AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string)?
            .Split(';', StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(File.Exists);
        return deps is not null ? Path.GetDirectoryName(Path.GetFullPath(deps))! : AppContext.BaseDirectory;
    }
}
