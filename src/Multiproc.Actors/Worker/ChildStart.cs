using System.Text;
using Multiproc.Actors.Serialization;

namespace Multiproc.Actors.Worker;

/// <summary>
/// What a child process reads from its stdin after the <see cref="WorkerHandshake"/>: its name and
/// its target with the arguments (a serialized <see cref="Functions.TargetCall"/>). One line each.
/// </summary>
internal sealed record ChildStart(string Name, Payload Target)
{
    public string Encode() =>
        $"{Base64(Name)}\n{Target.SerializerId}\n{Base64(Target.Manifest)}\n{Convert.ToBase64String(Target.Bytes)}\n";

    /// <summary>Reads the start; null when stdin closed first (the parent died while starting us).</summary>
    public static ChildStart? Read(TextReader reader)
    {
        var name = reader.ReadLine();
        var serializer = reader.ReadLine();
        var manifest = reader.ReadLine();
        var bytes = reader.ReadLine();
        if (name is null || serializer is null || manifest is null || bytes is null)
            return null;
        return new ChildStart(
            FromBase64(name),
            new Payload(int.Parse(serializer, System.Globalization.CultureInfo.InvariantCulture), FromBase64(manifest), Convert.FromBase64String(bytes)));
    }

    private static string Base64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    private static string FromBase64(string s) => Encoding.UTF8.GetString(Convert.FromBase64String(s));
}
