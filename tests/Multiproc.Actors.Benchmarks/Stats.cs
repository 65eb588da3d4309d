namespace Multiproc.Actors.Benchmarks;

/// <summary>Whether a bigger or a smaller figure is the better one.</summary>
internal enum Better
{
    Higher,
    Lower,
}

/// <summary>min / median / max of a figure's runs, and the runs in the order they were taken.</summary>
internal sealed record Summary(double Min, double Median, double Max, IReadOnlyList<double> Runs)
{
    public static Summary Of(IEnumerable<double> values)
    {
        var runs = values.ToArray();
        if (runs.Length == 0)
            throw new ArgumentException("A figure needs at least one run.", nameof(values));
        return new Summary(runs.Min(), Stats.Median(runs), runs.Max(), runs);
    }

    public Summary Scaled(double factor) => new(Min * factor, Median * factor, Max * factor, Runs.Select(r => r * factor).ToArray());
}

/// <summary>The statistics the Python side uses, computed the same way.</summary>
internal static class Stats
{
    /// <summary>The median as Python's <c>statistics.median</c>: the mean of the two middle values of an even count.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var n = sorted.Length;
        if (n == 0)
            throw new ArgumentException("The median of nothing.", nameof(values));
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>Nearest-rank percentile of sorted values, as <c>_bench.percentile</c>.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        var k = Math.Max(1, (int)Math.Ceiling(sorted.Count * p / 100));
        return sorted[k - 1];
    }
}
