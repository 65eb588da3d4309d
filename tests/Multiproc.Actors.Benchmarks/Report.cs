using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Multiproc.Actors.Benchmarks;

/// <summary>One figure of ours next to Python's, with the ratio (&gt; 1 means we are better) and the issue's target.</summary>
internal sealed record FigureRow(ScenarioDef Scenario, FigureDef Def, Summary Ours, PythonFigure? Python)
{
    /// <summary>ours / Python where bigger is better, Python / ours where smaller is better: always &gt; 1 when we are better.</summary>
    public double? Ratio => Python is null || Python.Median == 0 || Ours.Median == 0
        ? null
        : Def.Better == Better.Higher ? Ours.Median / Python.Median : Python.Median / Ours.Median;

    public bool? Met => Def.Target?.Check(Ours.Median, Ratio);
}

/// <summary>The table on standard output (a row per figure as it comes, a markdown summary at the end) and one JSON line per scenario.</summary>
internal static class Report
{
    private const int TitleWidth = 64;
    private const int ValueWidth = 34;

    private static readonly JsonSerializerOptions NoteOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // "<= 120 us" rather than "\u003C= 120 us": the lines are read by people too.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Header(bool comparing)
    {
        var line = $"{"figure",-TitleWidth} {"ours: median (min-max)",-ValueWidth}";
        if (comparing)
            line += $" {"Python spawn: median (min-max)",-ValueWidth} {"ratio",7}";
        line += "  target";
        Console.Out.WriteLine(line);
        Console.Out.WriteLine(new string('-', line.Length + 24));
    }

    public static void Rows(IEnumerable<FigureRow> rows, bool comparing)
    {
        foreach (var row in rows)
        {
            var line = $"{Clip(row.Def.Title, TitleWidth),-TitleWidth} {Range(row.Ours.Min, row.Ours.Median, row.Ours.Max, row.Def.Unit),-ValueWidth}";
            if (comparing)
            {
                var python = row.Python is { } p ? Range(p.Min, p.Median, p.Max, row.Def.Unit) : "-";
                line += $" {python,-ValueWidth} {(row.Ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) : "-"),7}";
            }
            line += "  " + TargetText(row);
            Console.Out.WriteLine(line);
        }
        Console.Out.Flush();
    }

    /// <summary>The scenario's JSON line: its headline figure at the top level, the others under "extra".</summary>
    public static void Json(ScenarioDef scenario, ScenarioOutput output, IReadOnlyList<FigureRow> rows, bool smoke,
        (double? Ours, double? Python)? probes)
    {
        var headline = rows.First(r => r.Def == scenario.Headline);
        var line = new JsonObject { ["scenario"] = scenario.Name };
        foreach (var (key, value) in FigureJson(headline))
            line[key] = value?.DeepClone();
        line["figure"] = headline.Def.Key;
        var extra = new JsonObject();
        foreach (var row in rows.Where(r => r != headline))
            extra[row.Def.Key] = FigureJson(row);
        if (extra.Count > 0)
            line["extra"] = extra;
        if (output.Guard is { } guard)
            line["guard"] = JsonSerializer.SerializeToNode(guard, NoteOptions);
        if (probes is { } p)
            line["probe_ms"] = new JsonObject { ["before_ours"] = p.Ours, ["before_python"] = p.Python };
        var notes = new JsonObject();
        foreach (var (key, value) in output.Notes)
            notes[key] = JsonSerializer.SerializeToNode(value, NoteOptions);
        line["notes"] = notes;
        line["smoke"] = smoke;
        Console.Out.WriteLine(line.ToJsonString(NoteOptions));
        Console.Out.Flush();
    }

    public static void JsonError(ScenarioDef scenario, string error)
    {
        Console.Out.WriteLine(new JsonObject { ["scenario"] = scenario.Name, ["error"] = error }.ToJsonString(NoteOptions));
        Console.Out.Flush();
    }

    /// <summary>Every figure of the session as a markdown table, for the README.</summary>
    public static void Markdown(IReadOnlyList<FigureRow> rows, bool comparing)
    {
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine(comparing
            ? "| figure | ours: median (min-max) | Python 3.11 spawn: median (min-max) | ratio (> 1 = we are better) | target | met |"
            : "| figure | ours: median (min-max) | target | met |");
        text.AppendLine(comparing ? "|---|---|---|---:|---|---|" : "|---|---|---|---|");
        foreach (var row in rows)
        {
            var ours = Range(row.Ours.Min, row.Ours.Median, row.Ours.Max, row.Def.Unit);
            var target = row.Def.Target?.Text ?? "";
            var met = row.Met switch { true => "yes", false => "**no**", null => row.Def.Target is null ? "" : "?" };
            if (comparing)
            {
                var python = row.Python is { } p ? Range(p.Min, p.Median, p.Max, row.Def.Unit) : "-";
                var ratio = row.Ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) : "-";
                text.AppendLine($"| {row.Def.Title} | {ours} | {python} | {ratio} | {target} | {met} |");
            }
            else
            {
                text.AppendLine($"| {row.Def.Title} | {ours} | {target} | {met} |");
            }
        }
        Console.Out.Write(text.ToString());
        Console.Out.Flush();
    }

    private static JsonObject FigureJson(FigureRow row)
    {
        var digits = Math.Abs(row.Ours.Median) >= 1000 ? 0 : 3;
        var figure = new JsonObject
        {
            ["unit"] = row.Def.Unit,
            ["min"] = Math.Round(row.Ours.Min, digits),
            ["median"] = Math.Round(row.Ours.Median, digits),
            ["max"] = Math.Round(row.Ours.Max, digits),
            ["runs"] = new JsonArray(row.Ours.Runs.Select(r => (JsonNode?)Math.Round(r, digits)).ToArray()),
            ["better"] = row.Def.Better == Better.Higher ? "higher" : "lower",
        };
        if (row.Python is { } p)
        {
            figure["python"] = new JsonObject
            {
                ["source"] = p.Source,
                ["min"] = p.Min is { } min ? Math.Round(min, digits) : null,
                ["median"] = Math.Round(p.Median, digits),
                ["max"] = p.Max is { } max ? Math.Round(max, digits) : null,
            };
            figure["ratio"] = row.Ratio is { } r ? Math.Round(r, 3) : null;
        }
        if (row.Def.Target is { } target)
        {
            figure["target"] = target.Text;
            figure["target_met"] = row.Met;
        }
        return figure;
    }

    private static string TargetText(FigureRow row) => row.Def.Target is not { } target
        ? ""
        : row.Met switch
        {
            true => $"{target.Text}: met",
            false => $"{target.Text}: MISSED",
            null => $"{target.Text}: needs --compare-python",
        };

    private static string Range(double? min, double median, double? max, string unit)
    {
        var text = Number(median);
        if (min is { } lo && max is { } hi)
            text += $" ({Number(lo)}-{Number(hi)})";
        return unit.Length == 0 ? text : $"{text} {unit}";
    }

    /// <summary>Three significant digits below 1000, thousands separators above, as summarize.py prints.</summary>
    public static string Number(double value)
    {
        var abs = Math.Abs(value);
        var format = abs >= 1000 ? "#,##0" : abs >= 100 ? "0" : abs >= 10 ? "0.0" : abs >= 1 ? "0.00" : "0.000";
        return value.ToString(format, CultureInfo.InvariantCulture);
    }

    private static string Clip(string text, int width) => text.Length <= width ? text : text[..(width - 3)] + "...";
}
