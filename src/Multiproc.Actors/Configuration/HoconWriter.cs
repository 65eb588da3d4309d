using System.Text;
using System.Text.Json;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Multiproc.Actors.Configuration;

/// <summary>
/// Writes parts of a configuration back out as HOCON that parses to the same values. Every key and
/// string is quoted, so keys with dots (serialization bindings name types) survive the trip.
/// </summary>
internal static class HoconWriter
{
    public static string Write(Config config, IEnumerable<string> paths)
    {
        var hocon = new StringBuilder();
        foreach (var path in paths)
        {
            if (!config.HasPath(path))
                continue;
            hocon.Append(string.Join('.', path.Split('.').Select(Quote))).Append(" = ");
            WriteValue(hocon, config.GetValue(path));
            hocon.Append('\n');
        }
        return hocon.ToString();
    }

    private static void WriteValue(StringBuilder hocon, HoconValue value)
    {
        if (value.IsObject())
        {
            hocon.Append('{');
            foreach (var (key, child) in value.GetObject().Items)
            {
                hocon.Append(Quote(key)).Append(" = ");
                WriteValue(hocon, child);
                hocon.Append('\n');
            }
            hocon.Append('}');
        }
        else if (value.IsArray())
        {
            hocon.Append('[');
            var first = true;
            foreach (var element in value.GetArray())
            {
                if (!first)
                    hocon.Append(", ");
                first = false;
                WriteValue(hocon, element);
            }
            hocon.Append(']');
        }
        else
        {
            hocon.Append(value.IsEmpty ? "null" : Quote(value.GetString()));
        }
    }

    private static string Quote(string s) => JsonSerializer.Serialize(s);
}
