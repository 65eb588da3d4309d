using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Event;

namespace Multiproc.Actors.Configuration;

/// <summary>
/// Keeps a stranger's refused connections from flooding the user's log. For each connection that fails
/// its TLS handshake (see <see cref="TransportKey"/>) Akka.Remote logs two multi-line ERRORs — with a hex
/// dump of the first bytes for non-TLS traffic — and a one-line WARNING ("Rejected incoming connection
/// from … due to TLS handshake failure"). The ERRORs are dropped; the WARNING is kept at most once a
/// minute per process, which still says that someone is knocking and from where.
/// A connection closed before its handshake ended ("Channel is closed") gets no WARNING at all: the
/// library's own workers do that as they exit (a retiring worker's last reconnect), nothing was read
/// from it, and a user's Close/Join must log nothing.
/// </summary>
internal sealed class StrangerLogFilter : LogFilterBase
{
    private StrangerLogFilter()
    {
    }

    /// <summary>The process's one filter: the rate limit holds across its systems.</summary>
    public static readonly StrangerLogFilter Instance = new();

    private const string ChannelClosed = "Channel is closed";
    private const int MaxClosedEarly = 256;

    private static readonly long Interval = Stopwatch.Frequency * 60;
    private long _lastKept = long.MinValue;
    // Remote endpoints whose handshake ended with the connection closed: Akka logs the ERROR naming
    // the channel, then, on the same thread, the WARNING naming the remote endpoint.
    private readonly ConcurrentDictionary<string, byte> _closedEarly = new();

    public override LogFilterType FilterType => LogFilterType.Content;

    public override LogFilterDecision ShouldKeepMessage(LogEvent content, string? expandedMessage = null)
    {
        // Not expandedMessage: that is the whole printed event, with its level, time and source first.
        var message = content.Message?.ToString() ?? "";
        if (message.StartsWith("TLS handshake failed", StringComparison.Ordinal))
        {
            if (message.Contains(ChannelClosed, StringComparison.Ordinal) && Between(message, "->", "](Id=") is { } remote)
            {
                if (_closedEarly.Count >= MaxClosedEarly)
                    _closedEarly.Clear();
                _closedEarly.TryAdd(remote, 0);
            }
            return LogFilterDecision.Drop;
        }
        if (message.StartsWith("Error caught channel", StringComparison.Ordinal) && IsHandshakeFailure(content.Cause))
            return LogFilterDecision.Drop;
        if (message.StartsWith("Rejected incoming connection from", StringComparison.Ordinal)
            && message.Contains("TLS handshake failure", StringComparison.Ordinal))
        {
            if (Between(message, "from [", "] due to") is { } remote && _closedEarly.TryRemove(remote, out _))
                return LogFilterDecision.Drop;
            var now = Stopwatch.GetTimestamp();
            var last = Interlocked.Read(ref _lastKept);
            return last != long.MinValue && now - last < Interval || Interlocked.CompareExchange(ref _lastKept, now, last) != last
                ? LogFilterDecision.Drop
                : LogFilterDecision.Keep;
        }
        return LogFilterDecision.Keep;
    }

    private static string? Between(string text, string before, string after)
    {
        var start = text.IndexOf(before, StringComparison.Ordinal);
        if (start < 0)
            return null;
        start += before.Length;
        var end = text.IndexOf(after, start, StringComparison.Ordinal);
        return end < 0 ? null : text[start..end];
    }

    private static bool IsHandshakeFailure(Exception? cause)
    {
        for (var e = cause; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException || e.GetType().Name == "NotSslRecordException")
                return true;
        }
        return false;
    }
}
