using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using NerService.Api.Tests.Documents;
using Xunit.Abstractions;

namespace NerService.Api.Tests;

/// <summary>
/// Thousands of generated requests, from a fixed seed, against every endpoint of the service on a real socket:
/// random JSON shapes and wrong types, text with lone and split surrogates, NUL and other awkward characters,
/// huge and empty texts, invalid UTF-8, odd paths, query strings, ids and headers. Whatever comes in, the service
/// answers: no 5xx but 503, no dropped connection, every error a problem details body, and still ready afterwards.
/// A failure names the request by its number; rerunning with the same seed sends the same requests.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class FuzzTests(ServiceFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Seed = 20261202;
    private const int Requests = 2000;

    private static readonly string[] Fragments =
    [
        "John", "Smith", "Paris", "EU", "Angela Merkel", "U.S.", "Mr.", "A.", "met", "in", "the", " ", "  ", "\t", "\n", "\r\n",
        ".", ",", "\"", "'", "\\", "/", "{", "}", "[", "]", ":", "\0", "\u0001", "\u007F", "\u0085", "\u00A0", "\u00AD", "\u200B",
        "\u200D", "\u202E", "\u2028", "\uFEFF", "\uFFFD", "\uFFFF", "\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uD83D", "\uDE00",
        "😀", "👨‍👩‍👧", "🇩🇪", "e\u0301", "東京", "שלום", "مرحبا", "𝐀", "\U000E0067", "<script>", "%00", "%s", "${x}", "' OR 1=1 --",
    ];

    private static readonly string[] Labels = ["PER", "LOC", "ORG", "MISC", "O", "", "per", "B-PER", "X", "\0", "\uD800"];

    private static readonly string[] FieldNames = ["text", "documents", "store", "id", "entities", "label", "start", "end"];

    private TestDatabase database = null!;

    public async Task InitializeAsync() => database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await database.DisposeAsync();

    [Fact]
    public async Task ThousandsOfGeneratedRequestsGetNoServerErrorAndEveryErrorIsProblemDetails()
    {
        await using var factory = new NerServiceFactory(fixture.BundlePath, database.ConnectionString);
        var address = factory.StartOnLoopback();
        using var handler = new SocketsHttpHandler
        {
            // Odd header values are sent as they are (Latin-1 by default would refuse some characters).
            RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8,
            AutomaticDecompression = DecompressionMethods.None,
        };
        using var client = new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        var random = new Random(Seed);
        var statuses = new SortedDictionary<int, int>();
        var clock = Stopwatch.StartNew();

        var failures = new List<string>();
        for (var number = 0; number < Requests; number++)
        {
            using var request = NextRequest(random, number);
            var description = $"request {number}: {request.Method} {Shorten(request.RequestUri!.OriginalString)}";
            try
            {
                using var response = await client.SendAsync(request);
                var status = (int)response.StatusCode;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                var body = await response.Content.ReadAsStringAsync();
                if (status >= 500 && status != 503)
                    failures.Add($"{description}: answered {status}: {Shorten(body)}");
                else if (RefusedByTheHttpParser(request))
                {
                    if (status is not (400 or 414))
                        failures.Add($"{description}: a request line Kestrel cannot accept answered {status}");
                }
                else if (status >= 400 && (response.Content.Headers.ContentType?.MediaType != "application/problem+json" || !body.Contains($"\"status\":{status}", StringComparison.Ordinal)))
                    failures.Add($"{description}: answered {status} as '{response.Content.Headers.ContentType}', not problem details: {Shorten(body)}");
            }
            catch (HttpRequestException failure)
            {
                failures.Add($"{description}: the connection failed: {failure.Message}");
            }
        }

        foreach (var failure in failures)
            output.WriteLine(failure);
        output.WriteLine($"{Requests} requests (seed {Seed}) in {clock.Elapsed.TotalSeconds:F1} s; statuses: {string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}"))}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {Requests} requests (seed {Seed}) went wrong:\n{string.Join("\n", failures.Take(25))}");
        using var ready = await client.GetAsync("health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    /// <summary>
    /// Requests Kestrel's HTTP parser refuses before any of the service's code runs, with a bare 400 or 414 and the
    /// connection closed: a percent-encoded NUL in the path, a request line over 8 KB. No middleware sees them, so
    /// they cannot get problem details; they still must not get anything else.
    /// </summary>
    private static bool RefusedByTheHttpParser(HttpRequestMessage request)
    {
        var target = request.RequestUri!.OriginalString;
        var path = target.Split('?', 2)[0];
        return path.Contains("%00", StringComparison.Ordinal) || target.Length > 8000;
    }

    private static string Shorten(string value) => value.Length <= 300 ? value : value[..300] + $"... ({value.Length} characters)";

    private static HttpRequestMessage NextRequest(Random random, int number)
    {
        var (method, path, body) = random.Next(14) switch
        {
            0 or 1 or 2 => (HttpMethod.Post, "ner", (Func<string>)(() => TagBody(random))),
            3 or 4 => (HttpMethod.Post, "ner/batch", () => BatchBody(random)),
            5 => (HttpMethod.Get, "documents" + Query(random), NoBody),
            6 => (HttpMethod.Get, "documents/" + Id(random), NoBody),
            7 => (HttpMethod.Delete, "documents/" + Id(random), NoBody),
            8 => (HttpMethod.Put, $"documents/{Id(random)}/entities", () => EntitiesBody(random)),
            9 => (HttpMethod.Get, "entities" + Query(random), NoBody),
            10 => (HttpMethod.Get, "documents/export" + Query(random), NoBody),
            11 => (HttpMethod.Get, random.Next(4) switch { 0 => "model", 1 => "health/live", 2 => "swagger/v1/swagger.json", _ => "" }, NoBody),
            12 => (OddMethod(random), OddPath(random), () => AnyJson(random, 3)),
            _ => (HttpMethod.Post, random.Next(2) == 0 ? "ner" : "ner/batch", () => AnyJson(random, 4)),
        };
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        var text = body();
        if (text.Length > 0 || random.Next(4) == 0)
        {
            var bytes = random.Next(25) == 0 ? Mangle(random, Encoding.UTF8.GetBytes(text)) : Encoding.UTF8.GetBytes(text);
            request.Content = new ByteArrayContent(bytes);
            var contentType = random.Next(12) switch
            {
                0 => null,
                1 => "text/plain",
                2 => "application/json; charset=latin1",
                3 => "application/problem+json",
                4 => "application/x-www-form-urlencoded",
                5 => "application/json; charset=utf-8",
                _ => "application/json",
            };
            if (contentType is not null)
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        AddOddHeaders(random, request, number);
        return request;
    }

    private static string NoBody() => "";

    private static string TagBody(Random random)
    {
        var fields = new List<string>();
        if (random.Next(10) > 0)
            fields.Add($"\"text\":{(random.Next(8) == 0 ? AnyJson(random, 2) : JsonString(Text(random)))}");
        if (random.Next(2) == 0)
            fields.Add($"\"store\":{(random.Next(3) == 0 ? AnyJson(random, 1) : random.Next(3) == 0 ? "true" : "false")}");
        if (random.Next(3) == 0)
            fields.Add($"\"offsetUnit\":{random.Next(5) switch { 0 => "\"codepoint\"", 1 => "\"utf16\"", 2 => JsonString(Text(random)), _ => AnyJson(random, 1) }}");
        if (random.Next(3) == 0)
            fields.Add($"\"includeTokens\":{(random.Next(2) == 0 ? "true" : AnyJson(random, 1))}");
        if (random.Next(10) == 0)
            fields.Add($"{JsonString(Text(random))}:{AnyJson(random, 2)}");
        return Shuffle(random, fields);
    }

    private static string BatchBody(Random random)
    {
        var fields = new List<string>();
        if (random.Next(10) > 0)
        {
            var count = random.Next(10) == 0 ? random.Next(90, 130) : random.Next(0, 6);
            var documents = Enumerable.Range(0, count).Select(_ => random.Next(8) switch
            {
                0 => AnyJson(random, 2),
                1 => "{}",
                _ => $"{{\"id\":{(random.Next(4) == 0 ? AnyJson(random, 1) : JsonString(Text(random, 40)))},\"text\":{JsonString(Text(random, count > 20 ? 200 : 3000))}}}",
            });
            fields.Add($"\"documents\":{(random.Next(10) == 0 ? AnyJson(random, 1) : "[" + string.Join(",", documents) + "]")}");
        }
        if (random.Next(2) == 0)
            fields.Add($"\"store\":{(random.Next(4) == 0 ? AnyJson(random, 1) : random.Next(2) == 0 ? "true" : "false")}");
        if (random.Next(4) == 0)
            fields.Add($"\"offsetUnit\":{(random.Next(2) == 0 ? "\"codepoint\"" : AnyJson(random, 1))}");
        if (random.Next(4) == 0)
            fields.Add($"\"includeTokens\":{(random.Next(2) == 0 ? "true" : AnyJson(random, 1))}");
        return Shuffle(random, fields);
    }

    private static string EntitiesBody(Random random)
    {
        if (random.Next(6) == 0)
            return AnyJson(random, 3);
        var entities = Enumerable.Range(0, random.Next(0, 5)).Select(_ =>
        {
            var fields = new List<string>();
            if (random.Next(8) > 0)
                fields.Add($"\"label\":{(random.Next(6) == 0 ? AnyJson(random, 1) : JsonString(Labels[random.Next(Labels.Length)]))}");
            if (random.Next(8) > 0)
                fields.Add($"\"start\":{Number(random)}");
            if (random.Next(8) > 0)
                fields.Add($"\"end\":{Number(random)}");
            if (random.Next(3) == 0)
                fields.Add($"\"text\":{JsonString(Text(random, 20))}");
            return Shuffle(random, fields);
        });
        return $"{{\"entities\":[{string.Join(",", entities)}]}}";
    }

    /// <summary>Text from awkward fragments; sometimes empty, sometimes huge (around the 100,000-character limit).</summary>
    private static string Text(Random random, int typicalMax = 300)
    {
        var roll = random.Next(40);
        if (roll == 0)
            return "";
        if (roll == 1)
        {
            var size = random.Next(2) == 0 ? 100_000 + random.Next(-2, 3) : random.Next(20_000, 110_000);
            var builder = new StringBuilder(size + 32);
            var word = random.Next(3) == 0 ? new string('x', random.Next(1, 5000)) : null;
            while (builder.Length < size)
                builder.Append(word ?? Fragments[random.Next(Fragments.Length)]).Append(random.Next(3) == 0 ? "" : " ");
            return builder.ToString(0, size);
        }
        var text = new StringBuilder();
        var pieces = random.Next(0, Math.Max(1, typicalMax / 5));
        for (var i = 0; i < pieces; i++)
        {
            text.Append(random.Next(10) switch
            {
                0 => ((char)random.Next(0, 0x10000)).ToString(),
                1 => char.ConvertFromUtf32(random.Next(0x10000, 0x110000)),
                _ => Fragments[random.Next(Fragments.Length)],
            });
        }
        return text.ToString();
    }

    /// <summary>Any JSON value: objects, arrays, numbers (huge, negative, fractional), strings, true, false, null.</summary>
    private static string AnyJson(Random random, int depth) => random.Next(depth <= 0 ? 5 : 7) switch
    {
        0 => "null",
        1 => random.Next(2) == 0 ? "true" : "false",
        2 => Number(random),
        3 or 4 => JsonString(Text(random, 30)),
        5 => "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => AnyJson(random, depth - 1))) + "]",
        _ => "{" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ =>
            $"{JsonString(random.Next(2) == 0 ? FieldNames[random.Next(FieldNames.Length)] : Text(random, 10))}:{AnyJson(random, depth - 1)}")) + "}",
    };

    private static string Number(Random random) => random.Next(8) switch
    {
        0 => "-1",
        1 => "0",
        2 => random.Next(0, 50).ToString(CultureInfo.InvariantCulture),
        3 => "99999999999999999999",
        4 => "2147483648",
        5 => "1.5",
        6 => "1e400",
        _ => random.Next(-1000, 100_000).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Every character outside printable ASCII escaped as \uXXXX, so lone surrogates go over the wire as such.</summary>
    private static string JsonString(string value)
    {
        var json = new StringBuilder("\"");
        foreach (var c in value)
        {
            if (c is '"' or '\\')
                json.Append('\\').Append(c);
            else if (c is >= ' ' and <= '~')
                json.Append(c);
            else
                json.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
        }
        return json.Append('"').ToString();
    }

    private static string Shuffle(Random random, List<string> fields)
    {
        var shuffled = fields.ToArray();
        random.Shuffle(shuffled);
        return "{" + string.Join(",", shuffled) + "}";
    }

    /// <summary>Broken bodies: cut short, a byte changed, or bytes that are not UTF-8 (a surrogate encoded as CESU-8, a lone continuation byte).</summary>
    private static byte[] Mangle(Random random, byte[] bytes)
    {
        switch (random.Next(4))
        {
            case 0:
                return bytes[..random.Next(0, bytes.Length + 1)];
            case 1 when bytes.Length > 0:
                var copy = (byte[])bytes.Clone();
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
                return copy;
            case 2:
                return [.. "{\"text\":\""u8, 0xED, 0xA0, 0x80, .. "\"}"u8];
            default:
                return [.. "{\"text\":\"a"u8, 0x80, 0xFF, 0xC0, .. "\"}"u8];
        }
    }

    private static string Id(Random random) => random.Next(12) switch
    {
        0 => "0",
        1 => "-1",
        2 => "99999999999999999999",
        3 => "abc",
        4 => "1.5",
        5 => "%20",
        6 => random.Next(2) == 0 ? "%00" : "%ED%A0%80",
        7 => "9223372036854775807",
        8 => PercentEncoded(Text(random, 10)),
        _ => random.Next(1, 200).ToString(CultureInfo.InvariantCulture),
    };

    private static string Query(Random random)
    {
        if (random.Next(4) == 0)
            return "";
        string[] names = ["label", "text", "prefix", "q", "from", "to", "reviewed", "cursor", "limit", "format", "x", ""];
        var pairs = Enumerable.Range(0, random.Next(1, 5)).Select(_ =>
        {
            var value = random.Next(8) switch
            {
                0 => "",
                1 => "-5",
                2 => "99999999999999999999",
                3 => "true",
                4 => "conll",
                5 => "2026-01-01T00:00:00Z",
                6 => "%ZZ",
                _ => PercentEncoded(Text(random, 20)),
            };
            return $"{names[random.Next(names.Length)]}={value}";
        });
        return "?" + string.Join(random.Next(6) == 0 ? "&&" : "&", pairs);
    }

    /// <summary>UTF-8 percent-encoding of everything but letters and digits (lone surrogates become U+FFFD's bytes).</summary>
    private static string PercentEncoded(string value)
    {
        var encoded = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9'))
                encoded.Append((char)b);
            else
                encoded.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
        }
        return encoded.ToString();
    }

    private static HttpMethod OddMethod(Random random) =>
        new[] { HttpMethod.Get, HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Options, new HttpMethod("FOO") }[random.Next(7)];

    private static string OddPath(Random random) => random.Next(10) switch
    {
        0 => "NER",
        1 => "ner/",
        2 => "ner/batch/",
        3 => "documents//1",
        4 => "documents/1/entities/x",
        5 => "%2e%2e/etc/passwd",
        6 => "documents/" + new string('9', 500),
        7 => PercentEncoded(Text(random, 20)),
        8 => "swagger/index.html",
        _ => "index.html",
    };

    private static void AddOddHeaders(Random random, HttpRequestMessage request, int number)
    {
        if (random.Next(3) == 0)
        {
            var key = random.Next(6) switch
            {
                0 => "",
                1 => new string('k', random.Next(100, 400)),
                2 => "key " + number.ToString(CultureInfo.InvariantCulture) + "#0",
                3 => "ключ-" + number.ToString(CultureInfo.InvariantCulture),
                4 => "\t",
                _ => "k" + number.ToString(CultureInfo.InvariantCulture),
            };
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }
        if (random.Next(6) == 0)
            request.Headers.TryAddWithoutValidation("X-Api-Key", random.Next(2) == 0 ? "" : "wrong-key-" + number.ToString(CultureInfo.InvariantCulture));
        if (random.Next(5) == 0)
            request.Headers.TryAddWithoutValidation("Accept", random.Next(5) switch
            {
                0 => "text/html",
                1 => "application/xml",
                2 => "*/*",
                3 => "application/problem+json",
                _ => "text/plain;q=0.5, image/png",
            });
        if (random.Next(8) == 0)
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", random.Next(2) == 0 ? "203.0.113.7" : "not an address");
        if (random.Next(10) == 0)
            request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, br, identity;q=0");
        if (random.Next(10) == 0)
            request.Headers.TryAddWithoutValidation("X-Odd", "ünïcödé 😀 " + new string('v', random.Next(0, 2000)));
    }
}
