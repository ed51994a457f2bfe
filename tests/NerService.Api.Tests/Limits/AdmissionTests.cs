using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using NerService.Api.Tagging;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests.Limits;

/// <summary>The tagging queue admits work by tokens, not by texts: a few large texts cannot fill a replica's memory.</summary>
[Collection(ServiceCollection.Name)]
public sealed class AdmissionTests(ServiceFixture fixture)
{
    [Fact]
    public async Task ATextThatWouldPassTheQueuedTokenBudgetAnswers503WithRetryAfterWhileSmallerOnesFit()
    {
        // One inference thread that waits up to 10 s for its batch to fill (90 tokens): admitted texts stay admitted
        // until the batch is full, so what is admitted is decided by the budget alone, not by timing.
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?>
        {
            ["Ner:Batching:InferenceThreads"] = "1",
            ["Ner:Batching:MaxDelayMs"] = "10000",
            ["Ner:Batching:MaxBatchTokens"] = "90",
            ["Ner:Batching:QueueTokenBudget"] = "100",
        });
        using var client = factory.CreateClient();
        var tagger = factory.Services.GetRequiredService<TaggerRegistry>().Default.Tagger;

        var first = client.PostAsJsonAsync("/ner", new { text = Words(60), store = false });
        await WaitUntilAsync(() => tagger.AdmittedTokens == 60);

        // 60 + 60 > 100: refused at once, although only one text is waiting and the queue holds 1,024.
        using var refused = await client.PostAsJsonAsync("/ner", new { text = Words(60), store = false });
        await AssertProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        using var refusedBatch = await client.PostAsJsonAsync("/ner/batch", new { documents = new[] { new { text = Words(60) } }, store = false });
        await AssertProblemAsync(refusedBatch, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(60, tagger.AdmittedTokens);

        // 60 + 30 fits, and fills the batch, which then runs.
        var second = client.PostAsJsonAsync("/ner", new { text = Words(30), store = false });
        await AssertOkJsonAsync(await first);
        await AssertOkJsonAsync(await second);
        Assert.Equal(0, tagger.AdmittedTokens);

        // A text, or a batch, larger than the whole budget is still served when nothing else waits.
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner", new { text = Words(200), store = false }));
        var batch = new { documents = Enumerable.Range(0, 3).Select(_ => new { text = Words(200) }).ToList(), store = false };
        await AssertOkJsonAsync(await client.PostAsJsonAsync("/ner/batch", batch));
    }

    private static string Words(int count) => string.Join(" ", Enumerable.Repeat("word", count));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within a minute.");
            await Task.Delay(20);
        }
    }
}
