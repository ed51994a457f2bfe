using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using NerService.Model.Decoding;
using NerService.Model.Features;
using NerService.Model.Network;

namespace NerService.Model.Bundles;

/// <summary>
/// A trained tagger in one file: a zip holding <c>manifest.json</c> (format version, architecture, tags and
/// scheme, training metadata, checksums), <c>vocabulary.json</c> (words and characters) and <c>weights.bin</c>
/// (TorchSharp's state-dictionary format). Loading checks all of it before anything is used.
/// </summary>
public sealed class ModelBundle : IDisposable
{
    private const string ManifestEntry = "manifest.json";
    private const string VocabularyEntry = "vocabulary.json";
    private const string WeightsEntry = "weights.bin";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public ModelBundle(BundleManifest manifest, WordVocabulary words, CharVocabulary characters, TaggerNetwork network)
    {
        Manifest = manifest;
        Words = words;
        Characters = characters;
        Network = network;
        TagSet = new TagSet(manifest.Scheme, manifest.Tags);
    }

    public BundleManifest Manifest { get; }
    public WordVocabulary Words { get; }
    public CharVocabulary Characters { get; }
    public TaggerNetwork Network { get; }
    public TagSet TagSet { get; }

    public void Save(string path) => Save(path, Manifest);

    /// <summary>Writes this bundle's vocabulary and weights with another manifest (e.g. one that adds calibration).</summary>
    public void Save(string path, BundleManifest manifest)
    {
        var vocabulary = JsonSerializer.SerializeToUtf8Bytes(
            new VocabularyFile(Words.Words, Characters.Characters.Select(c => (int)c).ToArray()), Json);
        byte[] weights;
        using (var buffer = new MemoryStream())
        {
            using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
                Network.save(writer);
            weights = buffer.ToArray();
        }
        manifest = manifest with
        {
            EntryChecksums = new Dictionary<string, string>
            {
                [VocabularyEntry] = Sha256(vocabulary),
                [WeightsEntry] = Sha256(weights),
            },
        };

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = path + ".writing";
        using (var file = File.Create(temporary))
        using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
        {
            Write(zip, ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(manifest, Json));
            Write(zip, VocabularyEntry, vocabulary);
            Write(zip, WeightsEntry, weights);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads and checks a bundle; throws <see cref="InvalidDataException"/> saying what is wrong.</summary>
    public static ModelBundle Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"No model bundle at '{path}'.", path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var manifestBytes = Read(zip, ManifestEntry, path);
            var manifest = JsonSerializer.Deserialize<BundleManifest>(manifestBytes, Json)
                ?? throw new InvalidDataException($"'{path}': {ManifestEntry} is empty.");
            if (manifest.FormatVersion != BundleManifest.CurrentFormatVersion)
            {
                throw new InvalidDataException(
                    $"'{path}' is bundle format {manifest.FormatVersion}; this build reads format {BundleManifest.CurrentFormatVersion}.");
            }

            if (manifest.Calibration is { Temperature: var temperature } && !(temperature > 0 && double.IsFinite(temperature)))
                throw new InvalidDataException($"'{path}': the calibration temperature must be a positive number; it is {temperature}.");

            var vocabularyBytes = ReadChecked(zip, VocabularyEntry, manifest, path);
            var weights = ReadChecked(zip, WeightsEntry, manifest, path);
            var vocabulary = JsonSerializer.Deserialize<VocabularyFile>(vocabularyBytes, Json)
                ?? throw new InvalidDataException($"'{path}': {VocabularyEntry} is empty.");
            var words = new WordVocabulary(vocabulary.Words);
            var characters = new CharVocabulary(new string(vocabulary.Characters.Select(c => (char)c).ToArray()));

            var config = manifest.Network;
            if (config.WordVocabularySize != words.Count)
                throw new InvalidDataException($"'{path}': the network expects {config.WordVocabularySize} words; the vocabulary has {words.Count}.");
            if (config.UseCharacters && config.CharVocabularySize != characters.Count)
                throw new InvalidDataException($"'{path}': the network expects {config.CharVocabularySize} characters; the vocabulary has {characters.Count}.");
            if (config.TagCount != manifest.Tags.Count)
                throw new InvalidDataException($"'{path}': the network outputs {config.TagCount} tags; the manifest lists {manifest.Tags.Count}.");

            var network = new TaggerNetwork(config);
            try
            {
                using var reader = new BinaryReader(new MemoryStream(weights));
                network.load(reader, strict: true);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
            {
                network.Dispose();
                throw new InvalidDataException($"'{path}': the weights do not fit the network the manifest describes ({ex.Message}).", ex);
            }
            network.eval();
            return new ModelBundle(manifest, words, characters, network);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"'{path}': malformed JSON in the bundle ({ex.Message}).", ex);
        }
        catch (InvalidDataException ex) when (!ex.Message.StartsWith('\''))
        {
            throw new InvalidDataException($"'{path}' is not a valid model bundle: {ex.Message}", ex);
        }
    }

    public void Dispose() => Network.Dispose();

    private static void Write(ZipArchive zip, string name, byte[] content)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
        stream.Write(content);
    }

    private static byte[] Read(ZipArchive zip, string name, string path)
    {
        var entry = zip.GetEntry(name) ?? throw new InvalidDataException($"'{path}' has no {name}.");
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static byte[] ReadChecked(ZipArchive zip, string name, BundleManifest manifest, string path)
    {
        var content = Read(zip, name, path);
        if (!manifest.EntryChecksums.TryGetValue(name, out var expected))
            throw new InvalidDataException($"'{path}': the manifest has no checksum for {name}.");
        if (Sha256(content) != expected)
            throw new InvalidDataException($"'{path}': {name} does not match its checksum; the file is corrupt.");
        return content;
    }

    internal static string Sha256(ReadOnlySpan<byte> content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    private sealed record VocabularyFile(IReadOnlyList<string> Words, IReadOnlyList<int> Characters);
}
