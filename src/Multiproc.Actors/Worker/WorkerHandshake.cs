using System.Text;

namespace Multiproc.Actors.Worker;

/// <summary>
/// What a worker reads from its stdin before anything else: the context's token, its transport key
/// (<see cref="Configuration.TransportKey"/>, PKCS#12 in base64; empty when the context runs in a
/// user's own actor system), the HOCON its actor system needs, and the full path (with UID) of the
/// actor to register with. One line each; the config is base64 so it stays one line. Secrets travel
/// here only: never in argv or the environment, which other users can read. The path comes last: a worker started ahead of its pool
/// (see <see cref="Launching.ProcessLauncher.Prestart"/>) starts its actor system on the first two
/// while its parent is still starting its own, and reads the path once its pool exists.
/// </summary>
internal sealed record WorkerHandshake(string Token, string Key, string ParentPath, string Config)
{
    /// <summary>The whole handshake.</summary>
    public string Encode() => EncodeStart() + EncodeParent(ParentPath);

    /// <summary>The token, the key and the config: what a worker needs to start its actor system.</summary>
    public string EncodeStart() => $"{Token}\n{Key}\n{Convert.ToBase64String(Encoding.UTF8.GetBytes(Config))}\n";

    /// <summary>The last line: the actor to register with.</summary>
    public static string EncodeParent(string parentPath) => $"{parentPath}\n";

    /// <summary>Reads the whole handshake; null when stdin closed first (the parent died while starting us).</summary>
    public static WorkerHandshake? Read(TextReader reader) =>
        ReadStart(reader) is { } start && ReadParent(reader) is { } parent ? start with { ParentPath = parent } : null;

    /// <summary>Reads the token, the key and the config (with no parent path yet); null when stdin closed first.</summary>
    public static WorkerHandshake? ReadStart(TextReader reader)
    {
        var token = reader.ReadLine();
        var key = reader.ReadLine();
        var config = reader.ReadLine();
        if (token is null || key is null || config is null)
            return null;
        return new WorkerHandshake(token, key, "", Encoding.UTF8.GetString(Convert.FromBase64String(config)));
    }

    /// <summary>
    /// The transport key the worker's system must use, which becomes this process's (contexts its code
    /// makes use it too); null when the parent's context has none.
    /// </summary>
    public Configuration.TransportKey? TransportKey()
    {
        if (Key.Length == 0)
            return null;
        var key = Configuration.TransportKey.FromPfx(Convert.FromBase64String(Key));
        Configuration.TransportKey.Inherit(key);
        return key;
    }

    /// <summary>Reads the parent's path; null when stdin closed first.</summary>
    public static string? ReadParent(TextReader reader) => reader.ReadLine();
}
