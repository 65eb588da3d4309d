using System.Security.Cryptography;

namespace Multiproc.Actors;

/// <summary>
/// Names an outsider cannot guess or link: the context's actors (a pool, a queue, the warm
/// workers) and its /dev/shm directory each get 128 random bits of their own, so knowing one (a
/// listing of /dev/shm is public) tells nothing about another.
/// </summary>
internal static class Names
{
    /// <summary>32 lower-case hex digits from the system's cryptographic random source.</summary>
    public static string Random() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    /// <summary>A fresh actor name: <paramref name="kind"/> (a fixed word such as "pool"), a dash, and <see cref="Random"/>.</summary>
    public static string ForActor(string kind) => $"{kind}-{Random()}";
}
