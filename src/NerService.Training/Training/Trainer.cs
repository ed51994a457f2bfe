using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using NerService.Model.Bundles;
using NerService.Model.Corpus;
using NerService.Model.Decoding;
using NerService.Model.Features;
using NerService.Model.Inference;
using NerService.Model.Network;
using NerService.Training.Embeddings;
using TorchSharp;
using static TorchSharp.torch;

namespace NerService.Training.Training;

/// <summary>One epoch's figures, as written to the JSON-lines log.</summary>
public sealed record EpochRecord(
    int Epoch, double Loss, double LearningRate, double TokensPerSecond, double Seconds,
    double Precision, double Recall, double F1, IReadOnlyDictionary<string, double> F1ByType, bool Best,
    double F1Greedy, double F1Constrained, double? F1LastWeights = null,
    IReadOnlyDictionary<string, double>? F1ByCasing = null, double? SoftLoss = null)
{
    /// <summary>What picks the best epoch: the mean F1 over the casings when they are validated, else the F1.</summary>
    public double Selection => F1ByCasing is { Count: > 0 } byCasing ? byCasing.Values.Average() : F1;
}

/// <summary>
/// Trains the tagger: Adam on mini-batches of similar-length sentences, gradient clipping, early stopping on
/// validation F1 with the best epoch kept as the bundle, a checkpoint to resume from, and a JSON-lines log.
/// </summary>
public sealed class Trainer(TrainingOptions options, TextWriter output, TextWriter progress)
{
    private static readonly JsonSerializerOptions JsonLines = new(JsonSerializerDefaults.Web);

    /// <summary>A new model's name and version when the options give none.</summary>
    public const string DefaultName = "conll2003-bilstm";
    public const string DefaultVersion = "1.0.0";

    public string LogPath => Path.ChangeExtension(options.OutputPath, ".training.jsonl");
    public string PlotPath => Path.ChangeExtension(options.OutputPath, ".learning-curve.png");
    private string CheckpointPath => options.OutputPath + ".checkpoint";
    private string StatePath => options.OutputPath + ".checkpoint.json";
    private string OptimizerPath => options.OutputPath + ".checkpoint.optimizer";
    private string AveragePath => options.OutputPath + ".checkpoint.average";

    public IReadOnlyList<EpochRecord> Run()
    {
        var started = Stopwatch.StartNew();
        Directory.CreateDirectory(Path.GetDirectoryName(options.OutputPath)!);
        torch.manual_seed(options.Seed);
        // Asked once: the commit cannot change during a run, and each ask starts a git process.
        var sourceCommit = SourceCommit();

        var trainDocuments = ConllReader.ReadDocuments(options.TrainPath, options.Scheme, options.InputScheme);
        IReadOnlyList<ConllSentence> train = [.. trainDocuments.SelectMany(d => d)];
        var validation = ConllReader.ReadFile(options.ValidationPath, options.Scheme, options.InputScheme);
        output.WriteLine($"train: {train.Count} sentences, {train.Sum(s => s.Tokens.Count)} tokens; validation: {validation.Count} sentences");
        if (options.CorrectionsWeight < 1)
            throw new ArgumentException($"The corrections weight (times each corrected sentence is repeated per epoch) must be at least 1; it is {options.CorrectionsWeight}.");
        var corrections = options.Corrections
            .Select(path => (Path: path, Sentences: ConllReader.ReadFile(path, options.Scheme, options.InputScheme)))
            .ToList();

        using var distillation = options.TeacherPath is null ? null
            : new Distillation(options.TeacherPath, options.DistillationWeight, options.DistillationTemperature, options.TeacherReadsOriginalCasing);
        var state = options.Resume && File.Exists(StatePath) && File.Exists(CheckpointPath)
            ? JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(StatePath), JsonLines)
            : null;
        var bundle = state is not null ? ModelBundle.Load(CheckpointPath)
            : options.InitFrom is not null ? ModelBundle.Load(options.InitFrom)
            : distillation is not null ? CreateStudent(distillation.Bundle)
            : CreateBundle([.. train, .. corrections.SelectMany(c => c.Sentences)]);
        if (distillation is not null && !distillation.Bundle.TagSet.Tags.SequenceEqual(bundle.TagSet.Tags))
            throw new InvalidOperationException($"The teacher predicts the tags {string.Join(' ', distillation.Bundle.TagSet.Tags)}; the student {string.Join(' ', bundle.TagSet.Tags)}.");
        if (options.InitFrom is not null && bundle.Manifest.Scheme != options.Scheme)
            throw new InvalidOperationException($"--init-from bundle predicts {bundle.Manifest.Scheme}; this run asks for {options.Scheme}.");
        if (options.AddRunningText)
            train = [.. train, .. RunningTextSentences(train, trainDocuments, TextCasing.Original)];
        if (corrections.Count > 0)
            train = MixCorrections(train, corrections, bundle.TagSet);
        // Sentences past this index are running text cut at another casing: kept as cased, never re-cased.
        var augmentable = train.Count;
        if (options.AddRunningText && options.CasingAugmentation > 0)
        {
            foreach (var casing in Recasing.All.Skip(1))
                train = [.. train, .. RunningTextSentences(Recasing.Apply(train.Take(augmentable).ToArray(), casing), [.. trainDocuments.Select(d => Recasing.Apply(d, casing))], casing)];
        }
        var validationByCasing = options.CasingAugmentation > 0
            ? Recasing.All.Skip(1).ToDictionary(c => c, c => Recasing.Apply(validation, c))
            : [];
        var network = bundle.Network;
        var tags = bundle.TagSet;
        var history = state?.History.ToList() ?? [];
        var bestF1 = history.Count > 0 ? history.Max(h => h.Selection) : -1;
        var bestEpoch = history.FirstOrDefault(h => h.Selection == bestF1)?.Epoch ?? 0;
        var firstEpoch = history.Count + 1;
        if (state is not null)
            output.WriteLine($"resuming after epoch {history.Count} (best F1 {bestF1:P2} at epoch {bestEpoch})");
        if (!options.Resume)
            File.Delete(LogPath);

        var builder = new BatchBuilder(bundle.Words, bundle.Characters, network.Config);
        if (train.SelectMany(s => s.Tags).FirstOrDefault(t => !tags.Tags.Contains(t)) is { } unknown)
            throw new InvalidOperationException($"The training data has the tag {unknown}, which the model does not predict (its tags: {string.Join(' ', tags.Tags)}).");
        var targets = train.Select(s => s.Tags.Select(tags.IndexOf).ToArray()).ToArray();
        if ((options.EmbeddingsPath is not null || options.InitFrom is not null || distillation is not null) && !options.FineTuneEmbeddings)
            network.WordVectorsTrainable = false;
        var trained = network.parameters().Where(p => p.requires_grad).ToArray();
        var optimizer = optim.Adam(trained, options.LearningRate);
        if (state is not null && File.Exists(OptimizerPath))
            optimizer.load_state_dict(OptimizerPath);
        // With weight averaging, validation and the saved bundle use the running mean; training moves the last weights.
        var averaged = !options.AverageWeights ? null
            : state is not null && File.Exists(AveragePath) ? ModelBundle.Load(AveragePath)
            : Copy(bundle);
        var averagedEpochs = state?.AveragedEpochs ?? 0;
        var lastWeightsModel = new NerModel(bundle, CPU);
        var evaluationModel = averaged is null ? lastWeightsModel : new NerModel(averaged, CPU);
        var epochsWithoutGain = history.Count - bestEpoch;

        var run = new EpochInputs(train, augmentable, targets, builder, network, trained, optimizer, distillation);
        for (var epoch = firstEpoch; epoch <= options.Epochs && epochsWithoutGain < options.Patience; epoch++)
        {
            var learningRate = options.LearningRate / (1 + options.LearningRateDecay * (epoch - 1));
            var loss = TrainEpoch(run, epoch, learningRate);
            // Validation without dropout; the next epoch switches back to training mode.
            network.eval();
            double? lastWeightsF1 = null;
            if (averaged is not null)
            {
                Accumulate(averaged.Network, network, ++averagedEpochs);
                lastWeightsF1 = Evaluator.Evaluate(lastWeightsModel, validation, options.ValidationDecoding).Metrics.F1;
            }
            var (record, metrics) = Validate(evaluationModel, validation, validationByCasing, epoch, learningRate, loss, lastWeightsF1);
            var improved = record.Selection > bestF1;
            record = record with { Best = improved };
            history.Add(record);
            Report(record, metrics, improved, averagedEpochs);

            if (improved)
            {
                bestF1 = record.Selection;
                bestEpoch = epoch;
                epochsWithoutGain = 0;
                WithMetadata(averaged ?? bundle, metrics, record.F1ByCasing, history, started.Elapsed.TotalSeconds, bestEpoch, sourceCommit).Save(options.OutputPath);
            }
            else
            {
                epochsWithoutGain++;
            }
            SaveCheckpoint(bundle, optimizer, averaged, history, averagedEpochs);
        }
        if (history.Count > 0)
            LearningCurve.Write(PlotPath, history);

        output.WriteLine($"best validation F1 {bestF1:P2} at epoch {bestEpoch}; bundle: {options.OutputPath}; {started.Elapsed:hh\\:mm\\:ss}");
        bundle.Dispose();
        averaged?.Dispose();
        return history;
    }

    /// <summary>What every epoch trains on and with: the sentences and their tag ids, the network and its optimiser.</summary>
    private sealed record EpochInputs(
        IReadOnlyList<ConllSentence> Train, int Augmentable, int[][] Targets, BatchBuilder Builder, TaggerNetwork Network,
        TorchSharp.Modules.Parameter[] Trained, TorchSharp.Modules.Adam Optimizer, Distillation? Distillation);

    /// <summary>The losses of one epoch, summed over its batches, and what it trained on.</summary>
    private sealed record EpochLoss(double LossSum, double SoftLossSum, int Batches, int Tokens, double Seconds);

    /// <summary>One pass over the epoch's mix of sentences (re-cased and shuffled from seeds of the epoch).</summary>
    private EpochLoss TrainEpoch(EpochInputs run, int epoch, double learningRate)
    {
        foreach (var group in run.Optimizer.ParamGroups)
            group.LearningRate = learningRate;
        // Re-seed per epoch so that a resumed run shuffles, re-cases and drops out exactly as an uninterrupted one would.
        var epochTrain = CasingAugmentation.Mix(run.Train, options.CasingAugmentation, new Random(options.Seed * 7919 + epoch), run.Augmentable);
        var order = Batches(epochTrain, new Random(options.Seed * 1000 + epoch));
        if (run.Distillation is not null)
        {
            var teacherClock = Stopwatch.StartNew();
            // Reading the original casing, the teacher needs the sentences as cased, which come first in the mix.
            run.Distillation.Prepare(run.Distillation.ReadsOriginalCasing ? run.Train.Take(run.Augmentable).ToArray() : epochTrain);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch}: teacher scores ready in {teacherClock.Elapsed.TotalSeconds:F0} s"));
        }
        torch.random.manual_seed(options.Seed * 1000 + epoch);
        var network = run.Network;
        var tagCount = network.Config.TagCount;
        network.train();
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        double softLossSum = 0;
        var tokens = 0;
        for (var b = 0; b < order.Count; b++)
        {
            using var scope = NewDisposeScope();
            var members = order[b];
            using var batch = run.Builder.Build(members.Select(i => epochTrain[i].Tokens).ToArray(), CPU);
            var time = (int)batch.Words.shape[1];
            var gold = new long[members.Length * time];
            Array.Fill(gold, -100);
            for (var i = 0; i < members.Length; i++)
            {
                var sentenceTags = run.Targets[members[i]];
                for (var t = 0; t < sentenceTags.Length; t++)
                    gold[i * time + t] = sentenceTags[t];
                tokens += sentenceTags.Length;
            }
            var logits = network.call(batch);
            var loss = nn.functional.cross_entropy(
                logits.view(-1, tagCount), tensor(gold, [gold.Length], ScalarType.Int64), ignore_index: -100);
            if (run.Distillation is { } distillation)
            {
                // The real tokens' logits, sentence after sentence, as the teacher's scores are laid out.
                var soft = distillation.Loss(logits.view(-1, tagCount).index_select(0, batch.TokenPositions), [.. members.Select(i => epochTrain[i])]);
                softLossSum += soft.item<float>();
                loss = loss.mul(1 - distillation.Weight).add(soft.mul(distillation.Weight));
            }
            run.Optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(run.Trained, options.GradientClipNorm);
            run.Optimizer.step();
            lossSum += loss.item<float>();

            if ((b + 1) % options.ProgressEvery == 0 || b + 1 == order.Count)
            {
                var rate = tokens / clock.Elapsed.TotalSeconds;
                var eta = TimeSpan.FromSeconds((order.Count - b - 1) * clock.Elapsed.TotalSeconds / (b + 1));
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch}/{options.Epochs}  batch {b + 1}/{order.Count}  loss {lossSum / (b + 1):F4}  {rate:N0} tok/s  ETA {eta:mm\\:ss}"));
            }
        }
        return new EpochLoss(lossSum, softLossSum, order.Count, tokens, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The epoch's record: both decodings scored on the validation data (one forward pass; the configured one picks
    /// the best epoch) and, with casing augmentation, the configured one at every other casing.
    /// </summary>
    private (EpochRecord Record, EntityMetrics Metrics) Validate(
        NerModel model, IReadOnlyList<ConllSentence> validation, Dictionary<TextCasing, IReadOnlyList<ConllSentence>> byCasingData,
        int epoch, double learningRate, EpochLoss loss, double? lastWeightsF1)
    {
        var evaluations = Evaluator.EvaluateEach(model, validation, [Decoding.Greedy, Decoding.Constrained]);
        var metrics = evaluations[options.ValidationDecoding == Decoding.Greedy ? 0 : 1].Metrics;
        Dictionary<string, double>? byCasing = null;
        if (byCasingData.Count > 0)
        {
            byCasing = new() { [nameof(TextCasing.Original).ToLowerInvariant()] = metrics.F1 };
            foreach (var (casing, sentences) in byCasingData)
                byCasing[casing.ToString().ToLowerInvariant()] = Evaluator.Evaluate(model, sentences, options.ValidationDecoding).Metrics.F1;
        }
        var record = new EpochRecord(
            epoch, loss.LossSum / loss.Batches, learningRate, loss.Tokens / loss.Seconds, loss.Seconds,
            metrics.Precision, metrics.Recall, metrics.F1,
            metrics.ByType.ToDictionary(kv => kv.Key, kv => kv.Value.F1), false,
            evaluations[0].Metrics.F1, evaluations[1].Metrics.F1, lastWeightsF1, byCasing,
            options.TeacherPath is null ? null : loss.SoftLossSum / loss.Batches);
        return (record, metrics);
    }

    /// <summary>Appends the epoch to the JSON-lines log and prints it.</summary>
    private void Report(EpochRecord record, EntityMetrics metrics, bool improved, int averagedEpochs)
    {
        File.AppendAllText(LogPath, JsonSerializer.Serialize(record, JsonLines) + "\n");
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {record.Epoch}: loss {record.Loss:F4}{(record.SoftLoss is { } softLoss ? $" (soft targets {softLoss:F4})" : "")}, {record.TokensPerSecond:N0} tok/s, {record.Seconds:F0} s; validation F1 {metrics.F1:P2}{(improved ? " (best)" : "")} (greedy {record.F1Greedy:P2}, constrained {record.F1Constrained:P2}{(record.F1LastWeights is { } last ? $"; mean of {averagedEpochs} epochs' weights, last weights alone {last:P2}" : "")})"));
        if (record.F1ByCasing is { } byCasing)
            output.WriteLine("validation F1 by casing: " + string.Join(", ", byCasing.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:P2}"))) + string.Create(CultureInfo.InvariantCulture, $"; mean {record.Selection:P2}"));
        output.WriteLine(Evaluator.Table(metrics));
    }

    /// <summary>
    /// The checkpoint (weights, optimizer moments, history) after every epoch; it stays after the run, so that the
    /// run can also be extended with more epochs.
    /// </summary>
    private void SaveCheckpoint(ModelBundle bundle, TorchSharp.Modules.Adam optimizer, ModelBundle? averaged, List<EpochRecord> history, int averagedEpochs)
    {
        bundle.Save(CheckpointPath);
        optimizer.save_state_dict(OptimizerPath);
        averaged?.Save(AveragePath);
        File.WriteAllText(StatePath, JsonSerializer.Serialize(new CheckpointState(history, averagedEpochs), JsonLines));
    }

    /// <summary>
    /// The training sentences followed by every corrected sentence <see cref="TrainingOptions.CorrectionsWeight"/>
    /// times: the shuffle of each epoch spreads the copies among the original data, which keeps the model from
    /// forgetting it while the corrections pull it their way.
    /// </summary>
    private List<ConllSentence> MixCorrections(IReadOnlyList<ConllSentence> train, List<(string Path, IReadOnlyList<ConllSentence> Sentences)> corrections, TagSet tags)
    {
        foreach (var (path, sentences) in corrections)
        {
            if (sentences.SelectMany(s => s.Tags).FirstOrDefault(t => !tags.Tags.Contains(t)) is { } unknown)
                throw new InvalidOperationException($"'{path}': the tag {unknown} is not one the model predicts ({string.Join(' ', tags.Tags)}).");
        }
        var corrected = corrections.SelectMany(c => c.Sentences).ToList();
        var mixed = new List<ConllSentence>(train.Count + corrected.Count * options.CorrectionsWeight);
        mixed.AddRange(train);
        for (var copy = 0; copy < options.CorrectionsWeight; copy++)
            mixed.AddRange(corrected);
        var entities = corrected.Sum(s => s.Tags.Count(t => t[0] is 'B' or 'S'));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"corrections: {corrected.Count} sentences, {corrected.Sum(s => s.Tokens.Count)} tokens, {entities} entities from {string.Join(", ", corrections.Select(c => Path.GetFileName(c.Path)))}; "
            + $"each repeated {options.CorrectionsWeight} times per epoch: {corrected.Count * options.CorrectionsWeight} of {mixed.Count} training sentences ({(double)corrected.Count * options.CorrectionsWeight / Math.Max(1, mixed.Count):P1})"));
        return mixed;
    }

    /// <summary>The training documents as the service cuts their running text, where the cut differs from the data set's sentences.</summary>
    private List<ConllSentence> RunningTextSentences(IReadOnlyList<ConllSentence> train, IReadOnlyList<IReadOnlyList<ConllSentence>> documents, TextCasing casing)
    {
        var known = train.Select(s => string.Join(' ', s.Tokens)).ToHashSet(StringComparer.Ordinal);
        var added = new List<ConllSentence>();
        foreach (var document in documents)
        {
            foreach (var sentence in RunningText.AsTheServiceSplitsIt(document, " ", options.Scheme))
            {
                if (known.Add(string.Join(' ', sentence.Tokens)))
                    added.Add(sentence);
            }
        }
        output.WriteLine($"running text ({casing.ToString().ToLowerInvariant()}): {added.Count} more sentences, {added.Sum(s => s.Tokens.Count)} tokens, where the service cuts the training documents differently");
        return added;
    }

    /// <summary>A second network with the same weights, to hold their running mean.</summary>
    /// <summary>The bundle with a copy of its network's weights (the vocabularies are shared: nothing changes them).</summary>
    internal static ModelBundle Copy(ModelBundle bundle)
    {
        var copy = new TaggerNetwork(bundle.Network.Config);
        using (no_grad())
        {
            foreach (var (target, source) in copy.parameters().Zip(bundle.Network.parameters()))
                target.copy_(source);
        }
        return new ModelBundle(bundle.Manifest, bundle.Words, bundle.Characters, copy);
    }

    /// <summary>Folds the current weights into the running mean of <paramref name="count"/> epochs' weights.</summary>
    private static void Accumulate(TaggerNetwork mean, TaggerNetwork current, int count)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (average, weights) in mean.parameters().Zip(current.parameters()))
            average.add_(weights - average, alpha: 1.0 / count);
    }

    /// <summary>The network shape the options ask for, over the given vocabulary and tag sizes.</summary>
    private NetworkConfig WithArchitecture(NetworkConfig config) => config with
    {
        UseCharacters = options.UseCharacters,
        UseCasing = options.UseCasing,
        Cell = options.Cell,
        Bidirectional = options.Bidirectional,
        HiddenSize = options.HiddenSize,
        Layers = options.Layers,
        Dropout = options.Dropout,
    };

    /// <summary>A fresh student for the teacher: its vocabularies, tags and word vectors, the architecture of the options.</summary>
    private ModelBundle CreateStudent(ModelBundle teacher)
    {
        var config = WithArchitecture(teacher.Network.Config);
        var network = new TaggerNetwork(config);
        network.LoadWordVectors(teacher.Network.WordVectors);
        var manifest = new BundleManifest
        {
            Name = options.Name ?? DefaultName,
            Version = options.Version ?? DefaultVersion,
            Scheme = teacher.Manifest.Scheme,
            Tags = teacher.Manifest.Tags,
            Network = config,
            Training = new TrainingMetadata(),
        };
        output.WriteLine($"student of {Path.GetFileName(options.TeacherPath)}: its {teacher.Words.Count} words and vectors, {config.Cell} {config.HiddenSize}{(config.Bidirectional ? " per direction" : "")}");
        return new ModelBundle(manifest, teacher.Words, teacher.Characters, network);
    }

    private ModelBundle CreateBundle(IReadOnlyList<ConllSentence> train)
    {
        var entityTypes = train.SelectMany(s => s.Tags).Where(t => t != "O").Select(t => t[2..]).Distinct();
        var tags = TagSet.For(options.Scheme, entityTypes);
        var vectors = options.EmbeddingsPath is null ? null : PretrainedVectors.Load(options.EmbeddingsPath);
        var (words, initial) = Vocabulary(train, vectors);
        var characters = new CharVocabulary(new string(train.SelectMany(s => s.Tokens).SelectMany(w => w).Distinct().Order().ToArray()));
        var config = WithArchitecture(new NetworkConfig
        {
            WordVocabularySize = words.Count,
            WordDimension = vectors?.Dimension ?? 100,
            CharVocabularySize = characters.Count,
            TagCount = tags.Count,
        });
        var network = new TaggerNetwork(config);
        if (initial is not null)
        {
            using var weights = tensor(initial, [words.Count, config.WordDimension]);
            network.LoadWordVectors(weights);
        }
        var manifest = new BundleManifest
        {
            Name = options.Name ?? DefaultName,
            Version = options.Version ?? DefaultVersion,
            Scheme = options.Scheme,
            Tags = tags.Tags,
            Network = config,
            Training = new TrainingMetadata(),
        };
        return new ModelBundle(manifest, words, characters, network);
    }

    /// <summary>
    /// The vocabulary: every training word (as its pretrained key where the vectors know it, else lowercased with
    /// digits as 0 when seen at least twice, so single rare words train the unknown-word row), then the most
    /// frequent pretrained words up to <see cref="TrainingOptions.PretrainedWords"/>, so words first met in
    /// production still get their pretrained vectors.
    /// </summary>
    private (WordVocabulary Words, float[]? Initial) Vocabulary(IReadOnlyList<ConllSentence> train, PretrainedVectors? vectors)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var entries = new List<string> { WordVocabulary.PaddingToken, WordVocabulary.UnknownToken };
        var known = new HashSet<string>(entries, StringComparer.Ordinal);
        foreach (var word in train.SelectMany(s => s.Tokens))
        {
            var lower = word.ToLowerInvariant();
            var key = vectors is not null && vectors.Index.ContainsKey(lower) ? lower : WordVocabulary.NormaliseDigits(lower);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        foreach (var (key, count) in counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if ((count >= 2 || vectors?.Index.ContainsKey(key) == true) && known.Add(key))
                entries.Add(key);
        }
        if (vectors is null)
            return (new WordVocabulary(entries), null);

        foreach (var word in vectors.Words.Take(options.PretrainedWords))
        {
            if (known.Add(word))
                entries.Add(word);
        }
        var dimension = vectors.Dimension;
        var initial = new float[entries.Count * dimension];
        var scale = MathF.Sqrt(3f / dimension);
        var random = new Random(options.Seed);
        for (var i = 1; i < entries.Count; i++)
        {
            var row = initial.AsSpan(i * dimension, dimension);
            if (vectors.Index.TryGetValue(entries[i], out var source))
                vectors.Vector(source).CopyTo(row);
            else
                for (var d = 0; d < dimension; d++)
                    row[d] = (float)(random.NextDouble() * 2 - 1) * scale;
        }
        output.WriteLine($"vocabulary: {entries.Count} words, {entries.Count(vectors.Index.ContainsKey)} with pretrained vectors");
        return (new WordVocabulary(entries), initial);
    }

    /// <summary>Shuffled batches of sentences of similar length: little padding, yet a different mix every epoch.</summary>
    private List<int[]> Batches(IReadOnlyList<ConllSentence> train, Random random)
    {
        var indices = Enumerable.Range(0, train.Count).ToArray();
        random.Shuffle(indices);
        var batches = new List<int[]>();
        var pool = options.BatchSize * 50;
        for (var first = 0; first < indices.Length; first += pool)
        {
            var chunk = indices.Skip(first).Take(pool).OrderBy(i => train[i].Tokens.Count).ToArray();
            for (var b = 0; b < chunk.Length; b += options.BatchSize)
                batches.Add(chunk.Skip(b).Take(options.BatchSize).ToArray());
        }
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(batches));
        return batches;
    }

    /// <summary>
    /// A bundle's validation scores as its manifest records them: precision, recall, f1, TYPE.f1, and CASING.f1 for
    /// each casing scored.
    /// </summary>
    internal static Dictionary<string, double> ValidationScores(EntityMetrics metrics, IReadOnlyDictionary<string, double>? byCasing)
    {
        var scores = new Dictionary<string, double>
        {
            ["precision"] = metrics.Precision,
            ["recall"] = metrics.Recall,
            ["f1"] = metrics.F1,
        };
        foreach (var (type, typeScores) in metrics.ByType)
            scores[$"{type}.f1"] = typeScores.F1;
        foreach (var (casing, f1) in byCasing ?? new Dictionary<string, double>())
            scores[$"{casing}.f1"] = f1;
        return scores;
    }

    private ModelBundle WithMetadata(ModelBundle bundle, EntityMetrics metrics, IReadOnlyDictionary<string, double>? byCasing, List<EpochRecord> history, double seconds, int bestEpoch, string? sourceCommit)
    {
        var scores = ValidationScores(metrics, byCasing);
        var manifest = bundle.Manifest with
        {
            Name = options.Name ?? bundle.Manifest.Name,
            Version = options.Version ?? bundle.Manifest.Version,
            Training = new TrainingMetadata
            {
                CreatedAt = DateTimeOffset.UtcNow,
                SourceCommit = sourceCommit,
                DataChecksums = new[] { options.TrainPath, options.ValidationPath }.Concat(options.Corrections)
                    .DistinctBy(Path.GetFileName)
                    .ToDictionary(path => Path.GetFileName(path), FileChecksum),
                ValidationMetrics = scores,
                Hyperparameters = options.Describe(),
                Epochs = history.Count,
                BestEpoch = bestEpoch,
                TrainingSeconds = Math.Round(seconds, 1),
                Machine = $"{Environment.ProcessorCount} cores, {RuntimeInfo()}",
            },
        };
        // Shares the network with the bundle being trained: save it, never dispose it.
        return new ModelBundle(manifest, bundle.Words, bundle.Characters, bundle.Network);
    }

    private static string FileChecksum(string path)
    {
        using var file = File.OpenRead(path);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(file));
    }

    private static string RuntimeInfo() => System.Runtime.InteropServices.RuntimeInformation.OSDescription;

    private static string? SourceCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, RedirectStandardError = true });
            var commit = git?.StandardOutput.ReadToEnd().Trim();
            git?.WaitForExit();
            return git?.ExitCode == 0 ? commit : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private sealed record CheckpointState(IReadOnlyList<EpochRecord> History, int AveragedEpochs = 0);
}
