using System.Collections.Concurrent;
using NerService.Model.Bundles;
using NerService.Model.Inference;

namespace NerService.Model.Tests.Inference;

public sealed class BatchingTaggerTests : IDisposable
{
    private static readonly string[] Texts =
    [
        "John Smith flew to London.",
        "EU rejects German call to boycott British lamb.",
        "Reuters reported from Paris on Tuesday. Germany said nothing.",
        "the",
        "",
    ];

    private readonly string directory = Directory.CreateTempSubdirectory("ner-batching-").FullName;
    private readonly NerModel model;

    public BatchingTaggerTests()
    {
        model = NerModel.Load(TestBundle.Create(Path.Combine(directory, "test.bundle")));
    }

    public void Dispose()
    {
        model.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task ConcurrentCallersEachGetTheResultOfTheirOwnText()
    {
        var expected = model.Tag(Texts, includeTokens: true);
        var batches = new ConcurrentBag<BatchStatistics>();
        await using var tagger = new BatchingTagger(model, new BatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(20) });
        tagger.BatchCompleted += batches.Add;

        var calls = Enumerable.Range(0, 200).Select(i => (Index: i % Texts.Length, Task: Task.Run(() => tagger.TagAsync(Texts[i % Texts.Length], includeTokens: true)))).ToArray();
        await Task.WhenAll(calls.Select(c => c.Task));

        foreach (var (index, task) in calls)
        {
            var result = await task;
            Assert.Equal(expected[index].Entities, result.Entities);
            Assert.Equal(expected[index].Tokens, result.Tokens);
        }
        Assert.Equal(200, batches.Sum(b => b.Texts));
        Assert.True(batches.Max(b => b.Texts) > 1, "concurrent callers should share forward passes");
    }

    [Fact]
    public async Task ABatchNeverExceedsItsSentenceLimit()
    {
        var batches = new ConcurrentBag<BatchStatistics>();
        await using var tagger = new BatchingTagger(model, new BatchingOptions { MaxBatchSentences = 3, MaxDelay = TimeSpan.FromMilliseconds(20) });
        tagger.BatchCompleted += batches.Add;
        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => tagger.TagAsync("John Smith flew to London.")));
        Assert.All(batches, b => Assert.InRange(b.Sentences, 1, 3));
    }

    [Fact]
    public async Task AFullQueueRefusesAtOnceInsteadOfGrowing()
    {
        await using var tagger = new BatchingTagger(model, new BatchingOptions { QueueCapacity = 1, MaxBatchSentences = 1 });
        var longText = string.Join(" ", Enumerable.Repeat("John Smith flew to London .", 4000));
        var accepted = new List<Task<TaggedText>>();
        var refused = 0;
        for (var i = 0; i < 20; i++)
        {
            try
            {
                accepted.Add(tagger.TagAsync(longText));
            }
            catch (QueueFullException)
            {
                refused++;
            }
        }
        Assert.True(refused > 0, "a queue of one must refuse some of twenty long texts sent at once");
        await Task.WhenAll(accepted);
    }

    [Fact]
    public async Task ACancelledCallerEndsAtOnceAndOthersStillGetResults()
    {
        await using var tagger = new BatchingTagger(model, new BatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(50) });
        using var cancellation = new CancellationTokenSource();
        var cancelled = tagger.TagAsync("John Smith flew to London.", cancellationToken: cancellation.Token);
        var kept = tagger.TagAsync("EU rejects German call.");
        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(4 + 1, (await kept).TokenCount);
    }

    [Fact]
    public async Task DisposingFinishesQueuedWorkThenRefusesNewWork()
    {
        var tagger = new BatchingTagger(model, new BatchingOptions { MaxBatchSentences = 1 });
        var queued = Enumerable.Range(0, 30).Select(_ => tagger.TagAsync("Reuters reported from Paris.")).ToArray();
        await tagger.DisposeAsync();
        Assert.All(queued, task => Assert.True(task.IsCompletedSuccessfully));
        Assert.Throws<ObjectDisposedException>(() => { _ = tagger.TagAsync("late"); });
    }
}
