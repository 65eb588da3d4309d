using System.Collections;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Util;

namespace Multiproc.Actors.Serialization;

/// <summary>
/// The one owner of "what may travel to another process": which types hold state that means
/// nothing there (a pointer, a handle, a stream, an actor), and how deep a value's graph goes.
/// Hyperion recurses once per level of nesting with no limit of its own, so a graph deeper than
/// the stack overflows it, which .NET cannot catch: the depth is measured here, iteratively, first.
/// </summary>
/// <remarks>
/// The walk visits objects in Hyperion's order (fields sorted by name, each object once, as with
/// preserved references), so the depth it finds is the recursion depth Hyperion will reach. Types
/// that cannot nest and hold nothing refused (numbers, strings, arrays and sealed types of those)
/// are known per type and need no walk, which keeps the hot path to one dictionary look-up.
/// </remarks>
internal static class TravelCheck
{
    private static readonly (Type Type, string Why)[] Forbidden =
    [
        (typeof(IntPtr), "a native pointer"),
        (typeof(UIntPtr), "a native pointer"),
        (typeof(Stream), "a stream"),
        (typeof(TextReader), "a reader"),
        (typeof(TextWriter), "a writer"),
        (typeof(Socket), "a socket"),
        (typeof(SafeHandle), "an OS handle"),
        (typeof(WaitHandle), "an OS wait handle"),
        (typeof(GCHandle), "a GC handle"),
        (typeof(Thread), "a thread"),
        (typeof(Task), "a task"),
        (typeof(SemaphoreSlim), "a lock"),
        (typeof(ReaderWriterLockSlim), "a lock"),
        (typeof(Lock), "a lock"),
        (typeof(CancellationTokenSource), "a cancellation source"),
        (typeof(System.Threading.Timer), "a timer"),
        (typeof(System.Diagnostics.Process), "an OS process"),
        (typeof(ActorSystem), "an actor system"),
        (typeof(ActorBase), "an actor instance"),
        (typeof(ProcessPool), "a process pool"),
        (typeof(MultiprocContext), "a multiprocessing context"),
    ];

    private static readonly ConcurrentDictionary<Type, Shape> Shapes = new();
    private static readonly ConcurrentDictionary<Type, bool> FlatTypes = new();

    /// <summary>What a refused value is, with where in the graph it was found.</summary>
    /// <param name="Path">Member path from the root ("Inner.Handle", "[3].Next"); empty for the root itself.</param>
    /// <param name="Type">The refused type.</param>
    /// <param name="Why">What it is ("a native pointer"); null when the value is refused for its depth.</param>
    /// <param name="Depth">For a depth refusal, the depth reached (the limit plus one).</param>
    internal sealed record Refusal(string Path, Type Type, string? Why, int Depth);

    /// <summary>
    /// True when no value of <paramref name="type"/> can hold anything refused or nest without
    /// bound, so its values need no walk.
    /// </summary>
    public static bool IsFlat(Type type) => FlatTypes.TryGetValue(type, out var flat) ? flat : FlatTypes.GetOrAdd(type, static t => ComputeFlat(t, []));

    /// <summary>Why values of <paramref name="type"/> itself never travel; null when they may.</summary>
    public static string? ForbiddenReason(Type type)
    {
        if (type.IsPointer || type.IsFunctionPointer || type.IsUnmanagedFunctionPointer)
            return "a pointer";
        foreach (var (forbidden, why) in Forbidden)
        {
            if (forbidden.IsAssignableFrom(type))
                return why;
        }
        return null;
    }

    /// <summary>
    /// Walks <paramref name="value"/>'s graph; null when it may travel, else the first thing
    /// refused: a type that cannot travel, or a nesting deeper than <paramref name="maxDepth"/>.
    /// </summary>
    public static Refusal? Inspect(object? value, int maxDepth) => Inspect(value, maxDepth, out _);

    /// <inheritdoc cref="Inspect(object?, int)"/>
    /// <param name="value">The value.</param>
    /// <param name="maxDepth">The most levels it may nest.</param>
    /// <param name="depth">How deep it nests, as far as walked (0 for a value that needed no walk).</param>
    public static Refusal? Inspect(object? value, int maxDepth, out int depth)
    {
        depth = 0;
        if (value is null || IsFlat(value.GetType()))
            return null;
        // An object of an unsealed type whose own fields cannot nest (a record passed as its base
        // type): nothing to walk, and nothing to allocate for it.
        var rootShape = ShapeOf(value.GetType());
        if (rootShape is { Kind: Kind.Leaf, Why: null })
        {
            depth = 1;
            return null;
        }
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        // Steps record how each node was reached, so a refusal can name its path without every
        // node carrying a string.
        var steps = new List<Step>();
        var pending = new Stack<Node>();
        pending.Push(new Node(value, 1, -1, null, -1));
        var children = new List<Node>();
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            var current = node.Value;
            if (!current.GetType().IsValueType && !visited.Add(current))
                continue;
            var id = steps.Count;
            steps.Add(new Step(node.Parent, node.Field, node.Index));
            depth = Math.Max(depth, node.Depth);
            var shape = ShapeOf(current.GetType());
            if (shape.Why is not null)
                return new Refusal(PathOf(steps, id, shape.Field), shape.Field?.FieldType ?? current.GetType(), shape.Why, node.Depth);
            if (shape.Kind == Kind.Leaf)
                continue;
            children.Clear();
            AddChildren(current, shape, node.Depth + 1, id, children);
            // A node's children all share one depth.
            if (children.Count > 0 && children[0].Depth > maxDepth)
                return new Refusal(PathOf(steps, id, null), current.GetType(), null, children[0].Depth);
            // Pushed in reverse so they are popped, like Hyperion's recursion visits them, in order.
            for (var i = children.Count - 1; i >= 0; i--)
                pending.Push(children[i]);
        }
        return null;
    }

    private static void AddChildren(object current, Shape shape, int depth, int id, List<Node> children)
    {
        switch (shape.Kind)
        {
            case Kind.Fields:
                foreach (var field in shape.Fields)
                {
                    if (field.GetValue(current) is { } child && !IsFlat(child.GetType()))
                        children.Add(new Node(child, depth, id, field, -1));
                }
                break;
            case Kind.Elements:
                // A collection other than an array may cost Hyperion more than one level per item
                // (a stack by its fields, a set through its serialization data): counted as two.
                var elementDepth = current is Array ? depth : depth + 1;
                var index = 0;
                foreach (var element in (IEnumerable)current)
                {
                    if (element is not null && !IsFlat(element.GetType()))
                        children.Add(new Node(element, elementDepth, id, null, index));
                    index++;
                }
                break;
            case Kind.Exception:
                var exception = (Exception)current;
                if (exception is AggregateException aggregate)
                {
                    for (var i = 0; i < aggregate.InnerExceptions.Count; i++)
                        children.Add(new Node(aggregate.InnerExceptions[i], depth, id, null, i));
                }
                else if (exception.InnerException is { } inner)
                {
                    children.Add(new Node(inner, depth, id, InnerExceptionField, -1));
                }
                break;
            case Kind.Delegate:
                if (((Delegate)current).Target is { } target && !IsFlat(target.GetType()))
                    children.Add(new Node(target, depth, id, null, -1));
                break;
        }
    }

    private static readonly FieldInfo? InnerExceptionField =
        typeof(Exception).GetField("_innerException", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>The member path of step <paramref name="id"/>, and of <paramref name="field"/> inside it when given.</summary>
    private static string PathOf(List<Step> steps, int id, FieldInfo? field)
    {
        var parts = new List<string>();
        if (field is not null)
            parts.Add("." + DisplayName(field));
        for (var at = id; at >= 0 && steps[at].Parent >= 0; at = steps[at].Parent)
        {
            var step = steps[at];
            parts.Add(step.Field is { } f ? "." + DisplayName(f) : step.Index >= 0 ? $"[{step.Index}]" : ".Target");
        }
        parts.Reverse();
        var path = string.Concat(parts);
        return path.StartsWith('.') ? path[1..] : path;
    }

    /// <summary>The user-facing name of a field: a captured local's own name, <c>this</c>, or a property's name.</summary>
    public static string DisplayName(FieldInfo field)
    {
        var name = field.Name;
        if (name.EndsWith("__this", StringComparison.Ordinal))
            return "this";
        if (name == "_innerException")
            return "InnerException";
        if (name.StartsWith('<') && name.IndexOf('>') is var end and > 1)
            return name[1..end];
        return name;
    }

    /// <summary>References that travel as references (actor refs, queue handles) or as names (types, methods): not walked into.</summary>
    private static bool IsStop(Type type) =>
        typeof(IActorRef).IsAssignableFrom(type) || typeof(ISurrogated).IsAssignableFrom(type)
        || typeof(MemberInfo).IsAssignableFrom(type);

    private static bool IsNative(Type type) =>
        type.IsPointer || type.IsFunctionPointer || type.IsUnmanagedFunctionPointer || type.IsValueType;

    private static bool IsScalar(Type type) =>
        type.IsPrimitive && type != typeof(IntPtr) && type != typeof(UIntPtr)
        || type.IsEnum || type == typeof(string) || type == typeof(decimal)
        || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(TimeSpan)
        || type == typeof(Guid) || type == typeof(DateOnly) || type == typeof(TimeOnly);

    private static bool ComputeFlat(Type type, HashSet<Type> inProgress)
    {
        if (FlatTypes.TryGetValue(type, out var known))
            return known;
        if (IsScalar(type) || IsStop(type))
            return true;
        if (ForbiddenReason(type) is not null)
            return false;
        // A field of an unsealed or interface type may hold anything at run time.
        if (!(type.IsValueType || type.IsSealed || type.IsArray) || typeof(Delegate).IsAssignableFrom(type))
            return false;
        // A type that can reach itself can nest without bound. Answering false while it is in
        // progress is conservative, so what is cached below it stays right.
        if (!inProgress.Add(type))
            return false;
        try
        {
            if (type.IsArray)
                return ComputeFlat(type.GetElementType()!, inProgress);
            if (ElementType(type) is { } element)
                return ComputeFlat(element, inProgress);
            foreach (var field in InstanceFields(type))
            {
                if (!ComputeFlat(field.FieldType, inProgress))
                    return false;
            }
            return true;
        }
        finally
        {
            inProgress.Remove(type);
        }
    }

    private static Shape ShapeOf(Type type) => Shapes.GetOrAdd(type, static t => ComputeShape(t));

    private static Shape ComputeShape(Type type)
    {
        if (IsScalar(type) || IsStop(type))
            return Shape.Leaf;
        if (ForbiddenReason(type) is { } why)
            return new Shape(Kind.Leaf, [], why, null);
        if (typeof(Delegate).IsAssignableFrom(type))
            return new Shape(Kind.Delegate, [], null, null);
        // Hyperion writes an exception as its type, message, stack trace and inner exception, not
        // field by field (its native fields would be refused here).
        if (typeof(Exception).IsAssignableFrom(type))
            return new Shape(Kind.Exception, [], null, null);
        // Items that can neither nest nor hold anything refused (a List<int> of the value itself,
        // whatever the declared type said) are not walked one by one.
        if (ElementType(type) is { } element)
            return IsFlat(element) ? Shape.Leaf : new Shape(Kind.Elements, [], null, null);
        var fields = InstanceFields(type).ToArray();
        foreach (var field in fields)
        {
            // A native value is refused even when zero; a reference only when it is there.
            if (IsNative(field.FieldType) && ForbiddenReason(field.FieldType) is { } fieldWhy)
                return new Shape(Kind.Leaf, [], fieldWhy, field);
        }
        var walked = fields.Where(f => !IsFlat(f.FieldType)).OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
        return walked.Length == 0 ? Shape.Leaf : new Shape(Kind.Fields, walked, null, null);
    }

    /// <summary>
    /// The element type of a framework collection, walked by its items as Hyperion writes it; null
    /// for anything else. A user's own collection is walked by its fields: enumerating it would run
    /// its code.
    /// </summary>
    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
            return type.GetElementType();
        if (!typeof(IEnumerable).IsAssignableFrom(type) || !IsFramework(type))
            return null;
        foreach (var candidate in type.GetInterfaces())
        {
            if (candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IEnumerable<>))
                return candidate.GetGenericArguments()[0];
        }
        return typeof(object);
    }

    private static bool IsFramework(Type type) =>
        type.Namespace?.StartsWith("System.Collections", StringComparison.Ordinal) == true
        && type.Assembly.GetName().Name is { } assembly
        && (assembly.StartsWith("System.", StringComparison.Ordinal) || assembly == "mscorlib" || assembly == "netstandard");

    private static IEnumerable<FieldInfo> InstanceFields(Type type)
    {
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                // Hyperion skips these; so does the walk, or it would refuse what travels fine.
                if (!field.IsDefined(typeof(NonSerializedAttribute), inherit: false))
                    yield return field;
            }
        }
    }

    private enum Kind { Leaf, Fields, Elements, Exception, Delegate }

    /// <summary>How values of one type are walked; <see cref="Why"/> set when they are refused (at <see cref="Field"/> when a field's type is the cause).</summary>
    private sealed record Shape(Kind Kind, FieldInfo[] Fields, string? Why, FieldInfo? Field)
    {
        public static readonly Shape Leaf = new(Kind.Leaf, [], null, null);
    }

    private readonly record struct Node(object Value, int Depth, int Parent, FieldInfo? Field, int Index);

    private readonly record struct Step(int Parent, FieldInfo? Field, int Index);
}
