using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.Serialization;
using Multiproc.Actors.Functions;
using Multiproc.Actors.Serialization;
using Xunit;

namespace Multiproc.Actors.Tests.Functions;

/// <summary>A type whose string constructor has a side effect: what a forged exception name must never reach.</summary>
public sealed class MarkerWriter
{
    public MarkerWriter(string path) => File.WriteAllText(path, "constructed");
}

/// <summary>A class without fields that is not a function's declaring type.</summary>
public sealed class Unrelated
{
    public override string ToString() => nameof(Unrelated);
}

public sealed class TypeLoaderTests : MultiprocSpec, IDisposable
{
    private readonly string _outside = Directory.CreateTempSubdirectory("multiproc-outside-").FullName;

    public new void Dispose()
    {
        Directory.Delete(_outside, recursive: true);
        base.Dispose();
    }

    /// <summary>A real assembly on disk outside the application (as an attacker would drop it in /tmp), with a type Evil.Payload.</summary>
    private (string Path, string Name) DropAssembly()
    {
        var name = "Evil" + Guid.NewGuid().ToString("N");
        var builder = new PersistedAssemblyBuilder(new AssemblyName(name), typeof(object).Assembly);
        var module = builder.DefineDynamicModule(name);
        module.DefineType("Evil.Payload", TypeAttributes.Public | TypeAttributes.Class).CreateType();
        var path = Path.Combine(_outside, name + ".dll");
        builder.Save(path);
        return (path, name);
    }

    private static bool IsLoaded(string name) => AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == name);

    [Fact]
    public void A_type_from_an_assembly_path_outside_the_application_is_refused_and_not_loaded()
    {
        var (path, name) = DropAssembly();

        var error = Assert.Throws<SerializationException>(() => TypeLoader.Load($"Evil.Payload, {name}", path));

        Assert.Contains(path, error.Message);
        Assert.Contains("outside the application", error.Message);
        Assert.False(IsLoaded(name));
    }

    [Fact]
    public void A_function_message_naming_a_dll_outside_the_application_does_not_load_it()
    {
        var (path, name) = DropAssembly();
        var forged = new FunctionRef(typeof(Func<int, int>).AssemblyQualifiedName!, $"Evil.Payload, {name}", 0x06000001, "Run", [], path, null);

        Assert.Throws<SerializationException>(() => forged.Resolve());

        Assert.False(IsLoaded(name));
    }

    [Fact]
    public void Types_of_the_application_still_load_by_name_and_from_their_own_path()
    {
        Assert.Equal(typeof(MarkerWriter), TypeLoader.Load(typeof(MarkerWriter).AssemblyQualifiedName!, typeof(MarkerWriter).Assembly.Location));
        Assert.Equal(typeof(string), TypeLoader.Load(typeof(string).AssemblyQualifiedName!));
    }

    [Fact]
    public void A_stateless_target_that_is_not_the_functions_declaring_type_is_refused_before_it_is_made()
    {
        Func<int, int> lambda = x => x * 3;
        var honest = FunctionRef.From(lambda, "func");
        var forged = new JobFunction(honest with { Target = new Unrelated() }, CallKind.Map, Stateless: true);
        var serializer = Sys.Serialization.FindSerializerFor(forged);

        var error = Assert.Throws<SerializationException>(() => Sys.Serialization.Deserialize(serializer.ToBinary(forged), serializer.Identifier,
            Akka.Serialization.Serialization.ManifestFor(serializer, forged)));

        Assert.Contains(nameof(Unrelated), error.Message);
    }

    [Fact]
    public void A_remote_error_naming_a_type_that_is_not_an_exception_never_runs_its_constructor()
    {
        var marker = Path.Combine(_outside, "constructed");

        var rebuilt = new RemoteError(typeof(MarkerWriter).AssemblyQualifiedName!, marker, "", null).ToException();

        var remote = Assert.IsType<RemoteException>(rebuilt);
        Assert.Contains(nameof(MarkerWriter), remote.RemoteType);
        Assert.False(File.Exists(marker), "MarkerWriter's constructor ran");
    }
}
