using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace Multiproc.Actors.Configuration;

/// <summary>
/// A context's transport secret: a self-signed certificate made in memory when the context starts,
/// handed to each of its workers and children on stdin (as the token is), and pinned by every node.
/// With it, Akka.Remote's DotNetty transport runs TLS with mutual authentication, so a connection
/// from a process that did not get the key fails its handshake before one byte of payload is read:
/// nothing a stranger sends is ever deserialized.
/// </summary>
internal sealed class TransportKey
{
    /// <summary>What turns the setup on: without it Akka silently ignores <see cref="DotNettySslSetup"/>.</summary>
    public static readonly Config EnableSsl = ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = on");

    private static readonly Lock Gate = new();
    private static Task<TransportKey>? _process;

    private readonly byte[] _pin;

    private TransportKey(byte[] pfx, X509Certificate2 certificate)
    {
        Pfx = pfx;
        Certificate = certificate;
        _pin = certificate.GetCertHash(HashAlgorithmName.SHA256);
    }

    /// <summary>
    /// The key of every context this process makes: one per process tree, not per context, so a queue
    /// or pool handle passed from one context to another context's workers, or to a child's own
    /// context, still reaches its actor. A worker or child process inherits its parent's (see
    /// <see cref="Inherit"/>); any other process makes one on first use, on another thread.
    /// </summary>
    public static Task<TransportKey> ForProcess()
    {
        lock (Gate)
        {
            // A failed attempt is not kept: the next context tries again.
            if (_process is { IsFaulted: true } or { IsCanceled: true })
                _process = null;
            return _process ??= Task.Run(Create);
        }
    }

    /// <summary>Makes the key this process got from its parent the one its own contexts use.</summary>
    public static void Inherit(TransportKey key)
    {
        lock (Gate)
            _process = Task.FromResult(key);
    }

    /// <summary>The certificate with its private key, as PKCS#12 bytes without a password: what a worker gets.</summary>
    public byte[] Pfx { get; }

    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// A new key: ECDSA P-256, which takes a few milliseconds where RSA-2048 takes up to 0.7 s. Valid
    /// for ten years from a day ago, so neither a skewed clock nor a long-lived service ever sees it expire.
    /// </summary>
    public static TransportKey Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=multiproc-context", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
        return FromPfx(certificate.Export(X509ContentType.Pkcs12));
    }

    /// <summary>The key a worker read from its stdin.</summary>
    public static TransportKey FromPfx(byte[] pfx) =>
        // Ephemeral: the private key never touches the disk (no key file under ~/.dotnet).
        new(pfx, X509CertificateLoader.LoadPkcs12(pfx, null, X509KeyStorageFlags.EphemeralKeySet));

    /// <summary>The setup that makes a system's transport use this key and accept only peers that hold it.</summary>
    public Setup Setup() => new DotNettySslSetup(
        Certificate,
        suppressValidation: false,
        requireMutualAuthentication: true,
        validateCertificateHostname: false,
        customValidator: IsPeer);

    /// <summary>
    /// Whether a peer presented this very certificate: its SHA-256 hash, compared in constant time. The
    /// chain errors a self-signed certificate brings are expected; the pin is what authenticates.
    /// </summary>
    internal bool IsPeer(X509Certificate2? certificate, X509Chain? chain, string? peer, SslPolicyErrors errors, ILoggingAdapter? log)
    {
        if (certificate is null)
            return false;
        return CryptographicOperations.FixedTimeEquals(certificate.GetCertHash(HashAlgorithmName.SHA256), _pin);
    }
}
