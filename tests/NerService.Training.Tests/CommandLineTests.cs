using System.Diagnostics;
using System.Text.Json;
using NerService.Model.Bundles;
using NerService.Training.Training;

namespace NerService.Training.Tests;

/// <summary>The command line as a user runs it: a separate process, its exit code, stdout and stderr.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("ner-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task EvaluateWithJsonPrintsOneObjectWithTheDocumentedFields()
    {
        var data = WriteFile("gold.conll", TestCorpus.Conll);
        var bundle = TestBundle.Create(Path.Combine(directory, "test.bundle"));
        var predictions = Path.Combine(directory, "predictions.txt");

        var (exitCode, output, error) = await Run("evaluate", "--model", bundle, "--data", data, "--json", "--predictions", predictions);

        Assert.True(exitCode == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        foreach (var field in new[] { "precision", "recall", "f1" })
            Assert.InRange(root.GetProperty(field).GetDouble(), 0, 1);
        Assert.Equal(4, root.GetProperty("sentences").GetInt32());
        Assert.Equal(22, root.GetProperty("tokens").GetInt32());
        Assert.True(root.GetProperty("tokensPerSecond").GetDouble() > 0);
        foreach (var type in root.GetProperty("perType").EnumerateObject())
        {
            Assert.Contains(type.Name, new[] { "LOC", "MISC", "ORG", "PER" });
            foreach (var field in new[] { "precision", "recall", "f1" })
                Assert.InRange(type.Value.GetProperty(field).GetDouble(), 0, 1);
        }
        var lines = File.ReadAllLines(predictions);
        Assert.Equal("John B-PER", string.Join(' ', lines[0].Split(' ')[..2]));
        Assert.Equal(3, lines[0].Split(' ').Length);
        Assert.Equal(4, lines.Count(l => l.Length == 0));
    }

    [Fact]
    public async Task CalibrateWritesABundleWithATemperatureThatDecodesExactlyAsBefore()
    {
        var data = WriteFile("gold.conll", TestCorpus.Conll);
        var bundle = TestBundle.Create(Path.Combine(directory, "test.bundle"));
        var calibrated = Path.Combine(directory, "calibrated.bundle");

        var (exitCode, output, error) = await Run("calibrate", "--model", bundle, "--data", data, "--output", calibrated, "--casing", "original", "lower");

        Assert.True(exitCode == 0, error);
        Assert.Contains("temperature", output);
        using (var loaded = ModelBundle.Load(calibrated))
        {
            var calibration = Assert.IsType<ProbabilityCalibration>(loaded.Manifest.Calibration);
            Assert.InRange(calibration.Temperature, 0.05, 20);
            Assert.StartsWith("sha256:", calibration.DataChecksums["gold.conll"]);
            Assert.True(calibration.Metrics.ContainsKey("brier") && calibration.Metrics.ContainsKey("uncalibrated.ece"));
        }
        var before = Path.Combine(directory, "before.txt");
        var after = Path.Combine(directory, "after.txt");
        Assert.Equal(0, (await Run("evaluate", "--model", bundle, "--data", data, "--predictions", before)).ExitCode);
        Assert.Equal(0, (await Run("evaluate", "--model", calibrated, "--data", data, "--predictions", after)).ExitCode);
        Assert.Equal(File.ReadAllText(before), File.ReadAllText(after));
    }

    [Theory]
    [InlineData("original")]
    [InlineData("upper")]
    public async Task EvaluateReportsCalibrationAndDrawsTheReliabilityDiagramForEachCasing(string casing)
    {
        var data = WriteFile("gold.conll", TestCorpus.Conll);
        var bundle = TestBundle.Create(Path.Combine(directory, "test.bundle"));
        var diagram = Path.Combine(directory, "reliability.png");

        var (exitCode, output, error) = await Run("evaluate", "--model", bundle, "--data", data, "--json", "--casing", casing, "--bins", "3", "--reliability-diagram", diagram);

        Assert.True(exitCode == 0, error);
        var calibration = JsonDocument.Parse(output).RootElement.GetProperty("calibration");
        Assert.Equal(1, calibration.GetProperty("temperature").GetDouble());
        foreach (var scores in new[] { "served", "uncalibrated", "geometricMean" })
        {
            var metrics = calibration.GetProperty(scores);
            Assert.InRange(metrics.GetProperty("ece").GetDouble(), 0, 1);
            Assert.InRange(metrics.GetProperty("brier").GetDouble(), 0, 1);
            Assert.Equal([0.5, 0.8, 0.9, 0.95], metrics.GetProperty("thresholds").EnumerateArray().Select(t => t.GetProperty("minScore").GetDouble()));
            Assert.Equal(metrics.GetProperty("entities").GetInt32(), metrics.GetProperty("bins").EnumerateArray().Sum(b => b.GetProperty("count").GetInt32()));
        }
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(diagram)[..4]);
    }

    [Fact]
    public async Task AMalformedFileIsReportedWithItsNameAndLine()
    {
        var data = WriteFile("broken.conll", "John B-PER\nSmith X-PER\n");
        var bundle = TestBundle.Create(Path.Combine(directory, "test.bundle"));

        var (exitCode, output, error) = await Run("evaluate", "--model", bundle, "--data", data);

        Assert.Equal(1, exitCode);
        Assert.Contains("broken.conll", error);
        Assert.Contains("line 2", error);
        Assert.DoesNotContain("   at ", error);
        Assert.Empty(output);
    }

    [Fact]
    public async Task PredictPrintsOneJsonLineOfEntitiesPerText()
    {
        var bundle = TestBundle.Create(Path.Combine(directory, "test.bundle"));
        var input = WriteFile("texts.txt", "John Smith visited Paris.\nReuters reported from Germany.\n");

        var (exitCode, output, error) = await Run("predict", "--model", bundle, "--file", input);

        Assert.True(exitCode == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        foreach (var line in lines)
            Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(line).RootElement.GetProperty("entities").ValueKind);
    }

    [Fact]
    public async Task TrainWritesABundleThatEvaluateReads()
    {
        var data = WriteFile("tiny.conll", TestCorpus.Conll);
        var bundle = Path.Combine(directory, "out", "tiny.bundle");

        var (exitCode, output, error) = await Run(
            "train", "--train", data, "--valid", data, "--output", bundle, "--hidden", "8", "--epochs", "2", "--batch-size", "2");

        Assert.True(exitCode == 0, error);
        Assert.Contains("epoch 2", output);
        Assert.Contains("overall", output);
        Assert.Contains("tok/s", error); // progress goes to stderr, the per-epoch table to stdout
        var (evaluateExit, _, evaluateError) = await Run("evaluate", "--model", bundle, "--data", data);
        Assert.True(evaluateExit == 0, evaluateError);
    }

    [Fact]
    public async Task TrainMixesRepeatedCorrectionsFilesIntoAFineTuningRunAndNamesTheNewVersion()
    {
        var data = WriteFile("tiny.conll", TestCorpus.Conll);
        var first = WriteFile("first.conll", "Acme B-ORG\nsaid O\n");
        var second = WriteFile("second.conll", "Mary B-PER\nsaid O\n\nParis B-LOC\nsaid O\n");
        var parent = TestBundle.Create(Path.Combine(directory, "parent.bundle"));
        var bundle = Path.Combine(directory, "tuned.bundle");

        var (exitCode, output, error) = await Run("train", "--train", data, "--valid", data, "--output", bundle, "--init-from", parent, "--scheme", "Iob2",
            "--corrections", first, "--corrections", second, "--corrections-weight", "4", "--model-version", "0.0.2", "--epochs", "1", "--batch-size", "2");

        Assert.True(exitCode == 0, error);
        Assert.Contains("corrections: 3 sentences, 6 tokens, 3 entities from first.conll, second.conll; each repeated 4 times per epoch: 12 of 16 training sentences", output);
        using var tuned = ModelBundle.Load(bundle);
        Assert.Equal(("test-bundle", "0.0.2"), (tuned.Manifest.Name, tuned.Manifest.Version));
        Assert.Equal("first.conll, second.conll", tuned.Manifest.Training.Hyperparameters["corrections"]);
    }

    [Theory]
    [InlineData("--corrections-weight", "0", "--corrections-weight must be at least 1")]
    [InlineData("--corrections", "missing.conll", "missing.conll")]
    public async Task TrainRefusesCorrectionsOptionsThatCannotWork(string option, string value, string message)
    {
        var data = WriteFile("tiny.conll", TestCorpus.Conll);

        var (exitCode, _, error) = await Run("train", "--train", data, "--valid", data, "--output", Path.Combine(directory, "x.bundle"), option,
            option == "--corrections" ? Path.Combine(directory, value) : value);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, error);
    }

    private string WriteFile(string name, string content)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, string.Join('\n', content.Split('\n').Select(l => l.Trim())));
        return path;
    }

    private static async Task<(int ExitCode, string Output, string Error)> Run(params string[] arguments)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "NerService.Training.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await output, await error);
    }
}
