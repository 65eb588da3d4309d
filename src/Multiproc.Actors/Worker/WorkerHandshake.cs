using System.Text;

namespace Multiproc.Actors.Worker;

/// <summary>
/// What a worker reads from its stdin before anything else: the context's token, the full path
/// (with UID) of the actor to register with, and the HOCON its actor system needs. One line each;
/// the config is base64 so it stays one line.
/// </summary>
internal sealed record WorkerHandshake(string Token, string ParentPath, string Config)
{
    public string Encode() =>
        $"{Token}\n{ParentPath}\n{Convert.ToBase64String(Encoding.UTF8.GetBytes(Config))}\n";

    /// <summary>Reads the handshake; null when stdin closed first (the parent died while starting us).</summary>
    public static WorkerHandshake? Read(TextReader reader)
    {
        var token = reader.ReadLine();
        var parent = reader.ReadLine();
        var config = reader.ReadLine();
        if (token is null || parent is null || config is null)
            return null;
        return new WorkerHandshake(token, parent, Encoding.UTF8.GetString(Convert.FromBase64String(config)));
    }
}
