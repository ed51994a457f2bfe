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
            AssertSameTagging(expected[index], result);
        }
        Assert.Equal(200, batches.Sum(b => b.Texts));
        Assert.True(batches.Max(b => b.Texts) > 1, "concurrent callers should share forward passes");
    }

    [Fact]
    public async Task SeveralInferenceThreadsShareTheQueueAndEachCallerStillGetsItsOwnResult()
    {
        var expected = model.Tag(Texts, includeTokens: true);
        var passThreads = new ConcurrentDictionary<string, int>();
        await using var tagger = new BatchingTagger(model, new BatchingOptions { InferenceThreads = 2, MaxBatchSentences = 2 });
        tagger.BatchCompleted += _ => passThreads.AddOrUpdate(Thread.CurrentThread.Name!, 1, (_, n) => n + 1);
        Assert.Equal(2, tagger.InferenceThreads);

        var calls = Enumerable.Range(0, 300).Select(i => (Index: i % Texts.Length, Task: tagger.TagAsync(Texts[i % Texts.Length], includeTokens: true))).ToArray();
        await Task.WhenAll(calls.Select(c => c.Task));

        foreach (var (index, task) in calls)
        {
            AssertSameTagging(expected[index], await task);
        }
        Assert.Equal(["ner-inference-0", "ner-inference-1"], passThreads.Keys.Order());
    }

    [Fact]
    public async Task SingleThreadedCpuPassesDoNotWaitForABatchToFillUnlessConfiguredTo()
    {
        Assert.Equal(TimeSpan.Zero, BatchingTagger.DefaultMaxDelay(TorchSharp.torch.CPU, threadsPerPass: 1));
        Assert.Equal(TimeSpan.FromMilliseconds(2), BatchingTagger.DefaultMaxDelay(TorchSharp.torch.CPU, threadsPerPass: 2));
        await using var byDefault = new BatchingTagger(model, new BatchingOptions());
        await using var configured = new BatchingTagger(model, new BatchingOptions { MaxDelay = TimeSpan.FromMilliseconds(5) });
        // The C# CPU kernel tags single-threaded whatever libtorch's thread count; libtorch's LSTM uses its threads.
        using var libTorchLstm = new NerModel(ModelBundle.Load(Path.Combine(directory, "test.bundle")), TorchSharp.torch.CPU, cpuKernel: false);
        await using var onLibTorch = new BatchingTagger(libTorchLstm, new BatchingOptions());
        Assert.True(model.UsesCpuKernel);
        Assert.Equal(TimeSpan.Zero, byDefault.MaxDelay);
        Assert.Equal(BatchingTagger.DefaultMaxDelay(TorchSharp.torch.CPU, TorchSharp.torch.get_num_threads()), onLibTorch.MaxDelay);
        Assert.Equal(TimeSpan.FromMilliseconds(5), configured.MaxDelay);
    }

    [Fact]
    public async Task TextsThatQueueBehindARunningPassShareTheNextOneWithoutAnyDelay()
    {
        var batches = new ConcurrentBag<BatchStatistics>();
        await using var tagger = new BatchingTagger(model, new BatchingOptions { InferenceThreads = 1, MaxDelay = TimeSpan.Zero });
        tagger.BatchCompleted += batches.Add;
        var longText = string.Join(" ", Enumerable.Repeat("John Smith flew to London .", 2000));
        var calls = new List<Task<TaggedText>> { tagger.TagAsync(longText) };
        // Queued within microseconds, while the long text's pass takes milliseconds.
        calls.AddRange(Enumerable.Range(0, 10).Select(_ => tagger.TagAsync("Reuters reported from Paris.")));
        await Task.WhenAll(calls);
        Assert.Equal(11, batches.Sum(b => b.Texts));
        Assert.True(batches.Max(b => b.Texts) > 1, "texts queued behind a running pass should share the next one");
    }

    [Fact]
    public async Task AFullBatchRunsAtOnceWithoutWaitingForTheDelay()
    {
        await using var tagger = new BatchingTagger(model, new BatchingOptions { MaxBatchSentences = 1, MaxDelay = TimeSpan.FromSeconds(5) });
        await tagger.TagAsync("Warm-up.");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await tagger.TagAsync("Reuters reported from Paris.");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"a batch already full waited {clock.Elapsed.TotalMilliseconds:F0} ms");
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
        await using var tagger = new BatchingTagger(model, new BatchingOptions { QueueCapacity = 1, MaxBatchSentences = 1, InferenceThreads = 1 });
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
    public async Task TextsPastTheTokenBudgetAreRefusedAtOnceAndTheBudgetIsFreedOnceTagged()
    {
        // The one inference thread waits up to 10 s for 90 tokens: the first text stays admitted until the batch fills.
        await using var tagger = new BatchingTagger(model, new BatchingOptions
        {
            InferenceThreads = 1, MaxDelay = TimeSpan.FromSeconds(10), MaxBatchTokens = 90, QueueTokenBudget = 100,
        });
        static string Words(int count) => string.Join(" ", Enumerable.Repeat("word", count));

        var first = tagger.TagAsync(Words(60));
        Assert.Equal(60, tagger.AdmittedTokens);
        Assert.Throws<QueueFullException>(() => { _ = tagger.TagAsync(Words(60)); });
        Assert.Throws<QueueFullException>(() => { _ = tagger.TagAsync(Words(2000)); }); // refused on its length, before tokenizing
        Assert.Equal(60, tagger.AdmittedTokens);
        var second = tagger.TagAsync(Words(30));

        Assert.Equal(60, (await first).TokenCount);
        Assert.Equal(30, (await second).TokenCount);
        Assert.Equal(0, tagger.AdmittedTokens);
        Assert.Equal(500, (await tagger.TagAsync(Words(500))).TokenCount); // alone, a text over the budget is served
        var together = await Task.WhenAll(tagger.TagAllAsync([Words(100), Words(100)])); // one request's texts: admitted together
        Assert.Equal(200, together.Sum(result => result.TokenCount));
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

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task DisposingFinishesQueuedWorkThenRefusesNewWork(int inferenceThreads)
    {
        var tagger = new BatchingTagger(model, new BatchingOptions { MaxBatchSentences = 1, InferenceThreads = inferenceThreads });
        var queued = Enumerable.Range(0, 30).Select(_ => tagger.TagAsync("Reuters reported from Paris.")).ToArray();
        await tagger.DisposeAsync();
        Assert.All(queued, task => Assert.True(task.IsCompletedSuccessfully));
        Assert.Throws<ObjectDisposedException>(() => { _ = tagger.TagAsync("late"); });
    }

    [Fact]
    public async Task DisposingTwiceIsHarmless()
    {
        var tagger = new BatchingTagger(model, new BatchingOptions());
        var result = tagger.TagAsync("Reuters reported from Paris.");
        await tagger.DisposeAsync();
        await tagger.DisposeAsync();
        Assert.True(result.IsCompletedSuccessfully);
    }

    /// <summary>
    /// Same spans and tags; scores equal to float precision. A text's scores move in the last digits with the
    /// shape of the batch it shared (matrix products of other sizes add in another order).
    /// </summary>
    private static void AssertSameTagging(TaggedText expected, TaggedText actual)
    {
        Assert.Equal(expected.Entities.Select(e => (e.Label, e.Start, e.End, e.Text)), actual.Entities.Select(e => (e.Label, e.Start, e.End, e.Text)));
        Assert.Equal(expected.Entities.Select(e => e.Score), actual.Entities.Select(e => e.Score), (a, b) => Math.Abs(a - b) < 1e-5);
        Assert.Equal(expected.Tokens!.Select(t => (t.Text, t.Start, t.End, t.Tag)), actual.Tokens!.Select(t => (t.Text, t.Start, t.End, t.Tag)));
        Assert.Equal(expected.Tokens!.Select(t => t.Probability), actual.Tokens!.Select(t => t.Probability), (a, b) => Math.Abs(a - b) < 1e-5);
    }
}
