using System.IO.Compression;
using NerService.Model.Bundles;
using NerService.Model.Inference;

namespace NerService.Model.Tests.Bundles;

public sealed class ModelBundleTests : IDisposable
{
    private static readonly string[][] Sentences =
    [
        ["John", "Smith", "flew", "to", "London", "."],
        ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
        ["Reuters"],
    ];

    private readonly string directory = Directory.CreateTempSubdirectory("ner-bundle-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void ASavedBundleLoadsBackWithIdenticalPredictions()
    {
        var path = TestBundle.Create(Path.Combine(directory, "a.bundle"));
        using var first = NerModel.Load(path);
        var before = first.PredictLogProbabilities(Sentences);

        var copy = Path.Combine(directory, "copy.bundle");
        using (var bundle = ModelBundle.Load(path))
            bundle.Save(copy);
        using var second = NerModel.Load(copy);
        var after = second.PredictLogProbabilities(Sentences);

        for (var s = 0; s < Sentences.Length; s++)
            Assert.Equal(before[s], after[s]);
        Assert.Equal(first.TagTokens(Sentences), second.TagTokens(Sentences));
    }

    [Fact]
    public void LoadingAMissingBundleSaysWhereItLooked()
    {
        var path = Path.Combine(directory, "none.bundle");
        var error = Assert.Throws<FileNotFoundException>(() => ModelBundle.Load(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void LoadingATruncatedBundleFailsWithAClearMessage()
    {
        var path = TestBundle.Create(Path.Combine(directory, "t.bundle"));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<InvalidDataException>(() => ModelBundle.Load(path));
        Assert.Contains("not a valid model bundle", error.Message);
    }

    [Fact]
    public void LoadingABundleWithAlteredWeightsReportsTheChecksum()
    {
        var path = TestBundle.Create(Path.Combine(directory, "w.bundle"));
        ReplaceEntry(path, "weights.bin", bytes => { bytes[^1] ^= 0xFF; return bytes; });
        var error = Assert.Throws<InvalidDataException>(() => ModelBundle.Load(path));
        Assert.Contains("weights.bin does not match its checksum", error.Message);
    }

    [Fact]
    public void LoadingABundleOfAnotherFormatVersionNamesBothVersions()
    {
        var path = TestBundle.Create(Path.Combine(directory, "v.bundle"));
        ReplaceEntry(path, "manifest.json", bytes => System.Text.Encoding.UTF8.GetBytes(
            System.Text.Encoding.UTF8.GetString(bytes).Replace("\"formatVersion\": 1", "\"formatVersion\": 99")));
        var error = Assert.Throws<InvalidDataException>(() => ModelBundle.Load(path));
        Assert.Contains("format 99", error.Message);
    }

    [Fact]
    public void LoadingABundleWhoseManifestDisagreesWithItsVocabularyIsRefused()
    {
        var path = TestBundle.Create(Path.Combine(directory, "m.bundle"));
        ReplaceEntry(path, "manifest.json", bytes => System.Text.Encoding.UTF8.GetBytes(
            System.Text.Encoding.UTF8.GetString(bytes).Replace("\"wordVocabularySize\": 15", "\"wordVocabularySize\": 16")));
        var error = Assert.Throws<InvalidDataException>(() => ModelBundle.Load(path));
        Assert.Contains("expects 16 words", error.Message);
    }

    private static void ReplaceEntry(string path, string name, Func<byte[], byte[]> change)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = zip.GetEntry(name)!;
        byte[] content;
        using (var stream = entry.Open())
        using (var buffer = new MemoryStream())
        {
            stream.CopyTo(buffer);
            content = buffer.ToArray();
        }
        entry.Delete();
        using var output = zip.CreateEntry(name).Open();
        output.Write(change(content));
    }
}
