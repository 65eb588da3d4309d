using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Util;

namespace Multiproc.Actors.Functions;

/// <summary>
/// Refuses values that hold process-local state before they are sent to a worker. Hyperion would
/// copy a stream or a lock field by field and the copy would mean nothing on the other side, so
/// "serializable" is a rule enforced here, not what the serializer accepts.
/// </summary>
internal static class CaptureCheck
{
    private static readonly (Type Type, string Why)[] Forbidden =
    [
        (typeof(Stream), "a stream"),
        (typeof(TextReader), "a reader"),
        (typeof(TextWriter), "a writer"),
        (typeof(Socket), "a socket"),
        (typeof(SafeHandle), "an OS handle"),
        (typeof(WaitHandle), "an OS wait handle"),
        (typeof(Thread), "a thread"),
        (typeof(Task), "a task"),
        (typeof(SemaphoreSlim), "a lock"),
        (typeof(ReaderWriterLockSlim), "a lock"),
        (typeof(Lock), "a lock"),
        (typeof(CancellationTokenSource), "a cancellation source"),
        (typeof(System.Threading.Timer), "a timer"),
        (typeof(System.Diagnostics.Process), "an OS process"),
        (typeof(ActorSystem), "an actor system"),
        (typeof(ProcessPool), "a process pool"),
        (typeof(MultiprocContext), "a multiprocessing context"),
    ];

    // Per type: true when no value of it can reach a forbidden object, so its values need no walk.
    private static readonly ConcurrentDictionary<Type, bool> SafeTypes = new();

    /// <summary>Values walked at most per check: a guard against enormous graphs, not a limit users meet.</summary>
    private const int WalkBudget = 1_000_000;

    /// <summary>Throws when <paramref name="value"/> holds process-local state anywhere in its graph.</summary>
    /// <param name="value">The value to check.</param>
    /// <param name="describe">Describes the offending member path for the message ("captured variable 'x'").</param>
    /// <param name="parameterName">The parameter the value came in through.</param>
    public static void Ensure(object? value, Func<string, string> describe, string parameterName)
    {
        if (value is null || IsStaticallySafe(value.GetType()))
            return;
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(object Value, string Path)>();
        stack.Push((value, ""));
        var budget = WalkBudget;
        while (stack.Count > 0 && budget-- > 0)
        {
            var (current, path) = stack.Pop();
            var type = current.GetType();
            if (IsStop(type) || !visited.Add(current))
                continue;
            if (ForbiddenReason(type) is { } why)
                throw new ArgumentException(
                    $"{describe(path)} ({type.FullName}) is {why} that belongs to this process and cannot be sent " +
                    "to a worker process. Pass what the task needs as arguments, or create it inside the task.",
                    parameterName);
            if (type.IsArray)
            {
                if (IsStaticallySafe(type.GetElementType()!))
                    continue;
                var index = 0;
                foreach (var element in (Array)current)
                {
                    if (element is not null && !IsStaticallySafe(element.GetType()))
                        stack.Push((element, $"{path}[{index}]"));
                    index++;
                }
                continue;
            }
            foreach (var field in InstanceFields(type))
            {
                if (field.GetValue(current) is { } child && !IsStaticallySafe(child.GetType()))
                    stack.Push((child, Join(path, DisplayName(field))));
            }
        }
    }

    /// <summary>The user-facing name of a field: a captured local's own name, <c>this</c>, or a property's name.</summary>
    public static string DisplayName(FieldInfo field)
    {
        var name = field.Name;
        if (name.EndsWith("__this", StringComparison.Ordinal))
            return "this";
        if (name.StartsWith('<') && name.IndexOf('>') is var end and > 1)
            return name[1..end];
        return name;
    }

    private static string Join(string path, string member) => path.Length == 0 ? member : $"{path}.{member}";

    private static string? ForbiddenReason(Type type)
    {
        foreach (var (forbidden, why) in Forbidden)
        {
            if (forbidden.IsAssignableFrom(type))
                return why;
        }
        return null;
    }

    /// <summary>References that travel as references (actor refs, queue handles): not walked into.</summary>
    private static bool IsStop(Type type) =>
        typeof(IActorRef).IsAssignableFrom(type) || typeof(ISurrogated).IsAssignableFrom(type)
        || typeof(MemberInfo).IsAssignableFrom(type) || typeof(Delegate).IsAssignableFrom(type);

    /// <summary>True when no value of <paramref name="type"/> can reach process-local state, so its values need no walk.</summary>
    public static bool IsStaticallySafe(Type type) => SafeTypes.GetOrAdd(type, static t => ComputeSafe(t, []));

    private static bool ComputeSafe(Type type, HashSet<Type> inProgress)
    {
        if (SafeTypes.TryGetValue(type, out var known))
            return known;
        if (type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal)
            || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(TimeSpan)
            || type == typeof(Guid) || type.IsPointer)
            return true;
        if (IsStop(type))
            return true;
        if (ForbiddenReason(type) is not null)
            return false;
        // A field of an unsealed or interface type may hold anything at run time.
        if (!(type.IsValueType || type.IsSealed || type.IsArray))
            return false;
        if (!inProgress.Add(type))
            return true;
        if (type.IsArray)
            return ComputeSafe(type.GetElementType()!, inProgress);
        foreach (var field in InstanceFields(type))
        {
            if (!ComputeSafe(field.FieldType, inProgress))
                return false;
        }
        return true;
    }

    private static IEnumerable<FieldInfo> InstanceFields(Type type)
    {
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                yield return field;
        }
    }
}
