using System.Reflection;
using System.Runtime.Loader;

namespace Multiproc.Actors.Functions;

/// <summary>
/// Loads types by assembly-qualified name in a worker. The worker runs with the caller's deps file,
/// so loading by name finds what the caller had; an assembly the caller loaded from a path of its
/// own is loaded from that same path.
/// </summary>
internal static class TypeLoader
{
    public static Type Load(string assemblyQualifiedName, string? assemblyPath = null) =>
        Type.GetType(assemblyQualifiedName, name => LoadAssembly(name, assemblyPath), typeResolver: null, throwOnError: true)!;

    private static Assembly LoadAssembly(AssemblyName name, string? assemblyPath)
    {
        try
        {
            return AssemblyLoadContext.Default.LoadFromAssemblyName(name);
        }
        catch (FileNotFoundException) when (assemblyPath is not null && File.Exists(assemblyPath)
                                            && AssemblyName.GetAssemblyName(assemblyPath).Name == name.Name)
        {
            return AssemblyLoadContext.Default.LoadFromAssemblyPath(assemblyPath);
        }
    }
}
