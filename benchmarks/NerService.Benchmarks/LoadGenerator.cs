using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using NerService.Model.Corpus;
using NerService.Model.Text;

namespace NerService.Benchmarks;

/// <summary>One sentence as a ready-made <c>POST /ner</c> body, with its token count under the service's tokenizer.</summary>
internal sealed record SentenceRequest(string Text, byte[] Body, int Tokens)
{
    /// <summary>
    /// CoNLL sentences as plain text (tokens joined by spaces), counted by <see cref="NerTokenizer.Default"/>, the
    /// tokenizer the service uses, so tokens/s here and the model's tokens/s count the same tokens.
    /// </summary>
    public static SentenceRequest[] ReadConll(string path, bool store, string? model = null) =>
        [.. ConllReader.ReadFile(path, TaggingScheme.Iob2).Select(sentence => Create(string.Join(' ', sentence.Tokens), store, model))];

    /// <summary>
    /// Each CoNLL document whole, its sentences run together as one paragraph (tokens joined by spaces), as a user
    /// tagging an archive would send it: the service's splitter finds the sentences again.
    /// </summary>
    public static SentenceRequest[] ReadConllDocuments(string path, bool store, string? model = null) =>
        [.. ConllReader.ReadDocuments(path, TaggingScheme.Iob2)
            .Select(document => Create(string.Join(' ', document.SelectMany(sentence => sentence.Tokens)), store, model))];

    private static SentenceRequest Create(string text, bool store, string? model) => new(
        text,
        model is null
            ? JsonSerializer.SerializeToUtf8Bytes(new { text, store }, JsonSerializerOptions.Web)
            : JsonSerializer.SerializeToUtf8Bytes(new { text, store, model }, JsonSerializerOptions.Web),
        NerTokenizer.Default.Tokenize(text).Count);
}

/// <summary>What the clients saw during the measured window (the warm-up is not counted).</summary>
internal sealed record LoadResult(
    int Clients, TimeSpan Window, long Requests, long Tokens, long Stored, long Rejected, long Failed, double[] LatenciesMs)
{
    public double RequestsPerSecond => Requests / Window.TotalSeconds;

    public double TokensPerSecond => Tokens / Window.TotalSeconds;

    public double StoredPerSecond => Stored / Window.TotalSeconds;

    /// <summary>Several measurements at the same client count as one: their windows and counts added up.</summary>
    public static LoadResult Combine(IReadOnlyList<LoadResult> parts)
    {
        var latencies = parts.SelectMany(p => p.LatenciesMs).ToArray();
        Array.Sort(latencies);
        return new LoadResult(
            parts[0].Clients, TimeSpan.FromTicks(parts.Sum(p => p.Window.Ticks)), parts.Sum(p => p.Requests), parts.Sum(p => p.Tokens),
            parts.Sum(p => p.Stored), parts.Sum(p => p.Rejected), parts.Sum(p => p.Failed), latencies);
    }

    /// <summary>Latency percentile in milliseconds (nearest rank over the sorted latencies).</summary>
    public double Percentile(double percent)
    {
        if (LatenciesMs.Length == 0)
            return double.NaN;
        var rank = (int)Math.Ceiling(percent / 100 * LatenciesMs.Length);
        return LatenciesMs[Math.Clamp(rank - 1, 0, LatenciesMs.Length - 1)];
    }
}

/// <summary>
/// Closed-loop load: each client posts one sentence, waits for the answer, posts the next. Requests that complete
/// inside the measured window count; throughput is completed requests (and their tokens) over the window.
/// </summary>
internal static class LoadGenerator
{
    public static HttpClient CreateClient(int maxConnections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = maxConnections,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        UseCookies = false,
        UseProxy = false,
    })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    public static async Task<LoadResult> RunAsync(
        HttpClient client, Uri address, SentenceRequest[] sentences, int clients, TimeSpan warmUp, TimeSpan duration)
    {
        var endpoint = new Uri(address, "/ner");
        var clock = Stopwatch.StartNew();
        var measureFrom = warmUp;
        var measureUntil = warmUp + duration;
        var perClient = await Task.WhenAll(Enumerable.Range(0, clients).Select(index => Task.Run(async () =>
        {
            var seen = new ClientTally();
            // Clients start at different places in the corpus so that batches mix sentence lengths.
            var next = index * (sentences.Length / clients);
            while (clock.Elapsed < measureUntil)
            {
                var sentence = sentences[next++ % sentences.Length];
                var started = clock.Elapsed;
                using var content = new ByteArrayContent(sentence.Body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                int status;
                bool stored;
                try
                {
                    using var response = await client.PostAsync(endpoint, content);
                    // Read the whole body: the request is not served until the client has it.
                    await response.Content.ReadAsByteArrayAsync();
                    status = (int)response.StatusCode;
                    stored = response.Headers.Location is not null;
                }
                catch (HttpRequestException)
                {
                    status = 0;
                    stored = false;
                }
                var finished = clock.Elapsed;
                if (finished < measureFrom || finished > measureUntil)
                    continue;
                if (status is >= 200 and < 300)
                {
                    seen.Requests++;
                    seen.Tokens += sentence.Tokens;
                    seen.Stored += stored ? 1 : 0;
                    seen.LatenciesMs.Add((finished - started).TotalMilliseconds);
                }
                else if (status == 503)
                    seen.Rejected++;
                else
                    seen.Failed++;
            }
            return seen;
        })));

        var latencies = perClient.SelectMany(c => c.LatenciesMs).ToArray();
        Array.Sort(latencies);
        return new LoadResult(
            clients, duration, perClient.Sum(c => c.Requests), perClient.Sum(c => c.Tokens), perClient.Sum(c => c.Stored),
            perClient.Sum(c => c.Rejected), perClient.Sum(c => c.Failed), latencies);
    }

    private sealed class ClientTally
    {
        public long Requests;
        public long Tokens;
        public long Stored;
        public long Rejected;
        public long Failed;
        public readonly List<double> LatenciesMs = [];
    }
}
