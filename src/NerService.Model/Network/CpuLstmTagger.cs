using System.Buffers;
using System.Runtime.CompilerServices;
using NerService.Model.Features;
using TorchSharp;
using static TorchSharp.torch;

namespace NerService.Model.Network;

/// <summary>
/// The forward pass of a served single-layer LSTM tagger on the CPU, in C# from a snapshot of its weights. It
/// computes what <see cref="TaggerNetwork.TokenLogProbabilities"/> computes (to float rounding), for one reason:
/// libtorch's LSTM runs each time step as about ten separate operations, and at the sizes served here (one
/// sentence, or a hidden size of 64) those calls' fixed costs, not the arithmetic, are most of the time
/// (docs/model.md, "Where a batch's time goes"). Here the sentences of a batch step together, longest first, and a
/// step is one register-blocked product (<see cref="PackedMatrix"/>) and a few vectorised loops over the gates.
/// What depends on no context is a table made once: a character's contribution to the character CNN at each
/// kernel offset. Only for weights that no longer change: a trainer, which evaluates between updates, uses the
/// network itself.
/// </summary>
public sealed class CpuLstmTagger
{
    private readonly WordVocabulary words;
    private readonly CharVocabulary characters;
    private readonly NetworkConfig config;
    private readonly int hidden;
    private readonly int inputSize;
    private readonly int featureSize;              // the inputs InputFeatures writes: all, or all but the word vector

    private readonly float[]? wordVectors;         // [words, wordDimension], unless wordGates stands for them
    private readonly float[]? wordGates;           // [words, directions · 4h]: each word's input-gate contribution, biases included
    private readonly float[]? characterTable;      // [chars, kernel · filters]: character c at kernel offset j → row c, columns j·F..
    private readonly float[]? characterBias;       // [filters]
    private readonly float[]? casingVectors;       // [casings, casingDimension]
    private readonly PackedMatrix? inputWeights;   // [features, directions · 4h]: W_ih of both directions, transposed (none when no features are left)
    private readonly float[] inputBias;            // [directions · 4h]: b_ih + b_hh
    private readonly PackedMatrix[] recurrentWeights;   // per direction [h, 4h]: W_hh transposed
    private readonly PackedMatrix outputWeights;   // [directions · h, tags]: the tag layer, transposed
    private readonly float[] outputBias;           // [tags]

    private CpuLstmTagger(TaggerNetwork network, WordVocabulary words, CharVocabulary characters, long wordGateTableBytes)
    {
        this.words = words;
        this.characters = characters;
        config = network.Config;
        hidden = config.HiddenSize;
        var weights = network.state_dict();
        float[] Copy(Tensor tensor) => tensor.detach().contiguous().data<float>().ToArray();
        using var scope = NewDisposeScope();
        using var noGradient = no_grad();

        var vectors = Copy(weights["word_embedding.weight"]);
        inputSize = config.WordDimension;
        if (config.UseCharacters)
        {
            var kernel = weights["char_cnn.weight"];                                // [filters, dim, kernel]
            characterTable = Copy(weights["char_embedding.weight"].matmul(kernel.permute(1, 2, 0).reshape(kernel.shape[1], -1)));
            characterBias = Copy(weights["char_cnn.bias"]);
            inputSize += config.CharFilters;
        }
        if (config.UseCasing)
        {
            casingVectors = Copy(weights["casing_embedding.weight"]);
            inputSize += config.CasingDimension;
        }

        var suffixes = config.Bidirectional ? new[] { "", "_reverse" } : [""];
        PackedMatrix Transposed(Tensor matrix) => new(Copy(matrix.t()), (int)matrix.shape[1], (int)matrix.shape[0]);
        var input = Copy(cat(suffixes.Select(s => weights[$"encoder.weight_ih_l0{s}"]).ToArray(), 0).t());   // [input, gates]
        inputBias = Copy(cat(suffixes.Select(s => weights[$"encoder.bias_ih_l0{s}"].add(weights[$"encoder.bias_hh_l0{s}"])).ToArray(), 0));
        var gateCount = inputBias.Length;
        var dimension = config.WordDimension;
        // A word's share of the input gates depends on nothing but the word: where the table of it for every word
        // fits the budget, it replaces most of the input product (the word vector is most of the input). The sums
        // run in the same order either way, so the scores are the same to the bit.
        if ((long)words.Count * gateCount * sizeof(float) <= wordGateTableBytes)
        {
            wordGates = new float[words.Count * gateCount];
            for (var w = 0; w < words.Count; w++)
                inputBias.CopyTo(wordGates, w * gateCount);
            new PackedMatrix(input.AsSpan(0, dimension * gateCount), dimension, gateCount).AddProduct(vectors, wordGates, words.Count);
            featureSize = inputSize - dimension;
            if (featureSize > 0)
                inputWeights = new PackedMatrix(input.AsSpan(dimension * gateCount), featureSize, gateCount);
        }
        else
        {
            wordVectors = vectors;
            featureSize = inputSize;
            inputWeights = new PackedMatrix(input, inputSize, gateCount);
        }
        recurrentWeights = suffixes.Select(s => Transposed(weights[$"encoder.weight_hh_l0{s}"])).ToArray();
        outputWeights = Transposed(weights["output.weight"]);
        outputBias = Copy(weights["output.bias"]);
    }

    /// <summary>
    /// The most memory a table of every word's input-gate contribution may take (the fast model's takes about
    /// 90 MB; the default model's would take 280 MB, more than the rest of the service, and goes without).
    /// </summary>
    public const long WordGateTableBytes = 128L << 20;

    /// <summary>Whether each word's share of the input gates is a precomputed table (see <see cref="WordGateTableBytes"/>).</summary>
    public bool HasWordGateTable => wordGates is not null;

    /// <summary>A tagger for this network on the CPU, or null where it does not apply (another cell, more layers, another device).</summary>
    public static CpuLstmTagger? TryCreate(
        TaggerNetwork network, WordVocabulary words, CharVocabulary characters, Device device, long wordGateTableBytes = WordGateTableBytes)
    {
        if (device.type != DeviceType.CPU || network.Config is not { Cell: RecurrentCell.Lstm, Layers: 1 })
            return null;
        return new CpuLstmTagger(network, words, characters, wordGateTableBytes);
    }

    private int Directions => recurrentWeights.Length;

    private int TagCount => outputBias.Length;

    /// <summary>Each sentence's tag log-probabilities, row-major [tokens, tags], as <see cref="TaggerNetwork.TokenLogProbabilities"/> gives them.</summary>
    public float[][] LogProbabilities(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        // The working matrices of a batch of 64 sentences are megabytes: pooled, not left to the garbage collector.
        using var work = new Workspace(this, sentences);
        InputFeatures(sentences, work.Features, work.WordIds);
        InputGates(work.Features, work.WordIds, work.Gates);
        Encode(work.Gates, sentences, work.Encoded);
        return TagLogProbabilities(work.Encoded, sentences);
    }

    /// <summary>The matrices of one forward pass, rented from the shared pool for its duration.</summary>
    internal sealed class Workspace : IDisposable
    {
        private readonly float[] features, gates, encoded;
        private readonly int[] wordIds;
        private readonly int tokens;
        private readonly CpuLstmTagger tagger;

        public Workspace(CpuLstmTagger tagger, IReadOnlyList<IReadOnlyList<string>> sentences)
        {
            this.tagger = tagger;
            tokens = sentences.Sum(s => s.Count);
            wordIds = ArrayPool<int>.Shared.Rent(tokens);
            features = ArrayPool<float>.Shared.Rent(tokens * tagger.featureSize);
            gates = ArrayPool<float>.Shared.Rent(tokens * tagger.inputBias.Length);
            encoded = ArrayPool<float>.Shared.Rent(tokens * tagger.Directions * tagger.hidden);
        }

        /// <summary>[tokens]: each token's row in the word vocabulary.</summary>
        public Span<int> WordIds => wordIds.AsSpan(0, tokens);

        /// <summary>[tokens, features]: the encoder's inputs that <see cref="InputFeatures"/> writes.</summary>
        public Span<float> Features => features.AsSpan(0, tokens * tagger.featureSize);

        /// <summary>[tokens, directions · 4h].</summary>
        public Span<float> Gates => gates.AsSpan(0, tokens * tagger.inputBias.Length);

        /// <summary>[tokens, directions · h].</summary>
        public Span<float> Encoded => encoded.AsSpan(0, tokens * tagger.Directions * tagger.hidden);

        public void Dispose()
        {
            ArrayPool<int>.Shared.Return(wordIds);
            ArrayPool<float>.Shared.Return(features);
            ArrayPool<float>.Shared.Return(gates);
            ArrayPool<float>.Shared.Return(encoded);
        }
    }

    /// <summary>
    /// Every token's word id, and its input to the encoder, [tokens, features]: word vector (unless the word-gate
    /// table stands for it), character features, casing vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void InputFeatures(IReadOnlyList<IReadOnlyList<string>> sentences, Span<float> features, Span<int> wordIds)
    {
        var byWord = config.UseCharacters ? new Dictionary<string, int>(StringComparer.Ordinal) : null;
        var token = 0;
        foreach (var sentence in sentences)
        {
            foreach (var word in sentence)
            {
                var row = features.Slice(token * featureSize, featureSize);
                var id = wordIds[token] = words.Lookup(word);
                var at = 0;
                if (wordVectors is not null)
                {
                    wordVectors.AsSpan(id * config.WordDimension, config.WordDimension).CopyTo(row);
                    at = config.WordDimension;
                }
                if (byWord is not null)
                {
                    var filters = row.Slice(at, config.CharFilters);
                    // A word met before in this batch: the same features (the CNN sees only the word).
                    if (byWord.TryGetValue(word, out var earlier))
                        features.Slice(earlier * featureSize + at, config.CharFilters).CopyTo(filters);
                    else
                    {
                        CharacterFeatures(word, filters);
                        byWord.Add(word, token);
                    }
                    at += config.CharFilters;
                }
                if (casingVectors is not null)
                    casingVectors.AsSpan(Casing.Of(word) * config.CasingDimension, config.CasingDimension).CopyTo(row.Slice(at));
                token++;
            }
        }
    }

    // The character CNN as BatchBuilder pads and TaggerNetwork convolves: the word's first MaxWordCharacters
    // characters, padding characters up to the width BatchBuilder gives a batch of this word alone (where the
    // full width would give the same maximum), zeros beyond both ends; the maximum over positions, plus the bias.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CharacterFeatures(string word, Span<float> filters)
    {
        var kernelWidth = config.CharKernelWidth;
        var count = config.CharFilters;
        var reach = kernelWidth / 2;
        var full = Math.Max(kernelWidth, config.MaxWordCharacters);
        var length = Math.Min(word.Length, full);
        var width = Math.Min(full, Math.Max(kernelWidth, length + reach + 1));
        var positions = width + 2 * reach - kernelWidth + 1;
        Span<float> position = stackalloc float[count];
        filters.Fill(float.NegativeInfinity);
        for (var p = 0; p < positions; p++)
        {
            position.Clear();
            for (var j = 0; j < kernelWidth; j++)
            {
                var c = p + j - reach;
                if (c < 0 || c >= width)
                    continue;
                var id = c < length ? characters.Lookup(word[c]) : CharVocabulary.PaddingId;
                var contribution = characterTable.AsSpan((id * kernelWidth + j) * count, count);
                for (var f = 0; f < count; f++)
                    position[f] += contribution[f];
            }
            for (var f = 0; f < count; f++)
                filters[f] = MathF.Max(filters[f], position[f]);
        }
        for (var f = 0; f < count; f++)
            filters[f] += characterBias![f];
    }

    /// <summary>Each token's input contribution to every gate of both directions, [tokens, directions · 4h], biases included.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void InputGates(ReadOnlySpan<float> features, ReadOnlySpan<int> wordIds, Span<float> gates)
    {
        var count = inputBias.Length;
        var tokens = wordIds.Length;
        for (var t = 0; t < tokens; t++)
        {
            var start = wordGates is null ? inputBias : wordGates.AsSpan(wordIds[t] * count, count);
            start.CopyTo(gates.Slice(t * count));
        }
        inputWeights?.AddProduct(features, gates, tokens);
    }

    /// <summary>The encoder's output of every token, [tokens, directions · h]: each sentence read forwards and backwards from a zero state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Encode(ReadOnlySpan<float> gates, IReadOnlyList<IReadOnlyList<string>> sentences, Span<float> output)
    {
        var stride = Directions * 4 * hidden;
        var width = Directions * hidden;
        // Longest first, so that the sentences still being read at any step are the first rows of the state.
        var order = Enumerable.Range(0, sentences.Count).OrderByDescending(s => sentences[s].Count).ToArray();
        var starts = new int[sentences.Count];
        for (var s = 1; s < sentences.Count; s++)
            starts[s] = starts[s - 1] + sentences[s - 1].Count;
        var rows = sentences.Count;
        var stepsRented = ArrayPool<float>.Shared.Rent(rows * 4 * hidden);
        var stateRented = ArrayPool<float>.Shared.Rent(rows * 2 * hidden);
        var steps = stepsRented.AsSpan(0, rows * 4 * hidden);
        var h = stateRented.AsSpan(0, rows * hidden);
        var c = stateRented.AsSpan(rows * hidden, rows * hidden);
        for (var direction = 0; direction < Directions; direction++)
        {
            h.Clear();
            c.Clear();
            var active = rows;
            for (var i = 0; ; i++)
            {
                while (active > 0 && sentences[order[active - 1]].Count <= i)
                    active--;
                if (active == 0)
                    break;
                for (var row = 0; row < active; row++)
                {
                    var s = order[row];
                    var t = starts[s] + (direction == 0 ? i : sentences[s].Count - 1 - i);
                    gates.Slice(t * stride + direction * 4 * hidden, 4 * hidden).CopyTo(steps.Slice(row * 4 * hidden));
                }
                if (i > 0)
                    recurrentWeights[direction].AddProduct(h, steps, active);
                for (var row = 0; row < active; row++)
                {
                    var s = order[row];
                    var t = starts[s] + (direction == 0 ? i : sentences[s].Count - 1 - i);
                    var state = h.Slice(row * hidden, hidden);
                    LstmCellMath.Step(steps.Slice(row * 4 * hidden, 4 * hidden), state, c.Slice(row * hidden, hidden));
                    state.CopyTo(output.Slice(t * width + direction * hidden, hidden));
                }
            }
        }
        ArrayPool<float>.Shared.Return(stepsRented);
        ArrayPool<float>.Shared.Return(stateRented);
    }

    /// <summary>The tag layer and log-softmax on the encoder's outputs: each sentence's [tokens, tags].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal float[][] TagLogProbabilities(ReadOnlySpan<float> encoded, IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        var width = Directions * hidden;
        var tags = TagCount;
        var result = new float[sentences.Count][];
        var token = 0;
        for (var s = 0; s < sentences.Count; s++)
        {
            var count = sentences[s].Count;
            var scores = result[s] = new float[count * tags];
            for (var t = 0; t < count; t++)
                outputBias.CopyTo(scores, t * tags);
            outputWeights.AddProduct(encoded.Slice(token * width, count * width), scores, count);
            token += count;
            for (var t = 0; t < count; t++)
            {
                var row = scores.AsSpan(t * tags, tags);
                // log-softmax: x - max - log Σ exp(x - max)
                var max = float.NegativeInfinity;
                foreach (var x in row)
                    max = MathF.Max(max, x);
                var sum = 0f;
                foreach (var x in row)
                    sum += MathF.Exp(x - max);
                var shift = max + MathF.Log(sum);
                for (var k = 0; k < row.Length; k++)
                    row[k] -= shift;
            }
        }
        return result;
    }
}
