using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
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

    private readonly float[] wordVectors;          // [words, wordDimension]
    private readonly float[]? characterTable;      // [chars, kernel · filters]: character c at kernel offset j → row c, columns j·F..
    private readonly float[]? characterBias;       // [filters]
    private readonly float[]? casingVectors;       // [casings, casingDimension]
    private readonly PackedMatrix inputWeights;    // [input, directions · 4h]: W_ih of both directions, transposed
    private readonly float[] inputBias;            // [directions · 4h]: b_ih + b_hh
    private readonly PackedMatrix[] recurrentWeights;   // per direction [h, 4h]: W_hh transposed
    private readonly PackedMatrix outputWeights;   // [directions · h, tags]: the tag layer, transposed
    private readonly float[] outputBias;           // [tags]

    private CpuLstmTagger(TaggerNetwork network, WordVocabulary words, CharVocabulary characters)
    {
        this.words = words;
        this.characters = characters;
        config = network.Config;
        hidden = config.HiddenSize;
        var weights = network.state_dict();
        float[] Copy(Tensor tensor) => tensor.detach().contiguous().data<float>().ToArray();
        using var scope = NewDisposeScope();
        using var noGradient = no_grad();

        wordVectors = Copy(weights["word_embedding.weight"]);
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
        inputWeights = Transposed(cat(suffixes.Select(s => weights[$"encoder.weight_ih_l0{s}"]).ToArray(), 0));
        inputBias = Copy(cat(suffixes.Select(s => weights[$"encoder.bias_ih_l0{s}"].add(weights[$"encoder.bias_hh_l0{s}"])).ToArray(), 0));
        recurrentWeights = suffixes.Select(s => Transposed(weights[$"encoder.weight_hh_l0{s}"])).ToArray();
        outputWeights = Transposed(weights["output.weight"]);
        outputBias = Copy(weights["output.bias"]);
    }

    /// <summary>A tagger for this network on the CPU, or null where it does not apply (another cell, more layers, another device).</summary>
    public static CpuLstmTagger? TryCreate(TaggerNetwork network, WordVocabulary words, CharVocabulary characters, Device device)
        => device.type == DeviceType.CPU && network.Config is { Cell: RecurrentCell.Lstm, Layers: 1 }
            ? new CpuLstmTagger(network, words, characters)
            : null;

    private int Directions => recurrentWeights.Length;

    private int TagCount => outputBias.Length;

    /// <summary>Each sentence's tag log-probabilities, row-major [tokens, tags], as <see cref="TaggerNetwork.TokenLogProbabilities"/> gives them.</summary>
    public float[][] LogProbabilities(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        var features = InputFeatures(sentences);
        var gates = InputGates(features);
        var encoded = Encode(gates, sentences);
        return TagLogProbabilities(encoded, sentences);
    }

    /// <summary>Every token's input to the encoder, [tokens, input]: word vector, character features, casing vector.</summary>
    internal float[] InputFeatures(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        var tokens = sentences.Sum(s => s.Count);
        var features = new float[tokens * inputSize];
        var byWord = config.UseCharacters ? new Dictionary<string, int>(StringComparer.Ordinal) : null;
        var token = 0;
        foreach (var sentence in sentences)
        {
            foreach (var word in sentence)
            {
                var row = features.AsSpan(token * inputSize, inputSize);
                wordVectors.AsSpan(words.Lookup(word) * config.WordDimension, config.WordDimension).CopyTo(row);
                var at = config.WordDimension;
                if (byWord is not null)
                {
                    var filters = row.Slice(at, config.CharFilters);
                    // A word met before in this batch: the same features (the CNN sees only the word).
                    if (byWord.TryGetValue(word, out var earlier))
                        features.AsSpan(earlier * inputSize + at, config.CharFilters).CopyTo(filters);
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
        return features;
    }

    // The character CNN as BatchBuilder pads and TaggerNetwork convolves: the word's first MaxWordCharacters
    // characters, padding characters up to the width BatchBuilder gives a batch of this word alone (where the
    // full width would give the same maximum), zeros beyond both ends; the maximum over positions, plus the bias.
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
                TensorPrimitives.Add(position, characterTable.AsSpan((id * kernelWidth + j) * count, count), position);
            }
            TensorPrimitives.Max(filters, position, filters);
        }
        TensorPrimitives.Add(filters, characterBias, filters);
    }

    /// <summary>Each token's input contribution to every gate of both directions, [tokens, directions · 4h], biases included.</summary>
    internal float[] InputGates(float[] features)
    {
        var tokens = features.Length / inputSize;
        var gates = new float[tokens * inputBias.Length];
        for (var t = 0; t < tokens; t++)
            inputBias.CopyTo(gates, t * inputBias.Length);
        inputWeights.AddProduct(features, gates, tokens);
        return gates;
    }

    /// <summary>The encoder's output of every token, [tokens, directions · h]: each sentence read forwards and backwards from a zero state.</summary>
    internal float[] Encode(float[] gates, IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        var stride = Directions * 4 * hidden;
        var width = Directions * hidden;
        var output = new float[gates.Length / stride * width];
        // Longest first, so that the sentences still being read at any step are the first rows of the state.
        var order = Enumerable.Range(0, sentences.Count).OrderByDescending(s => sentences[s].Count).ToArray();
        var starts = new int[sentences.Count];
        for (var s = 1; s < sentences.Count; s++)
            starts[s] = starts[s - 1] + sentences[s - 1].Count;
        var rows = sentences.Count;
        var steps = new float[rows * 4 * hidden];
        var h = new float[rows * hidden];
        var c = new float[rows * hidden];
        for (var direction = 0; direction < Directions; direction++)
        {
            Array.Clear(h);
            Array.Clear(c);
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
                    gates.AsSpan(t * stride + direction * 4 * hidden, 4 * hidden).CopyTo(steps.AsSpan(row * 4 * hidden));
                }
                if (i > 0)
                    recurrentWeights[direction].AddProduct(h, steps, active);
                for (var row = 0; row < active; row++)
                {
                    var s = order[row];
                    var t = starts[s] + (direction == 0 ? i : sentences[s].Count - 1 - i);
                    var state = h.AsSpan(row * hidden, hidden);
                    Cell(steps.AsSpan(row * 4 * hidden, 4 * hidden), state, c.AsSpan(row * hidden, hidden));
                    state.CopyTo(output.AsSpan(t * width + direction * hidden, hidden));
                }
            }
        }
        return output;
    }

    // One LSTM step in PyTorch's gate order (input, forget, candidate, output) on the summed pre-activations.
    private void Cell(Span<float> step, Span<float> h, Span<float> c)
    {
        var n = hidden;
        var inputGate = step[..n];
        var forgetGate = step.Slice(n, n);
        var candidate = step.Slice(2 * n, n);
        var outputGate = step.Slice(3 * n, n);
        TensorPrimitives.Sigmoid(step[..(2 * n)], step[..(2 * n)]);
        TensorPrimitives.Tanh(candidate, candidate);
        TensorPrimitives.Sigmoid(outputGate, outputGate);
        TensorPrimitives.Multiply(forgetGate, c, c);
        TensorPrimitives.FusedMultiplyAdd(inputGate, candidate, c, c);
        TensorPrimitives.Tanh(c, h);
        TensorPrimitives.Multiply(outputGate, h, h);
    }

    /// <summary>The tag layer and log-softmax on the encoder's outputs: each sentence's [tokens, tags].</summary>
    internal float[][] TagLogProbabilities(float[] encoded, IReadOnlyList<IReadOnlyList<string>> sentences)
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
            outputWeights.AddProduct(encoded.AsSpan(token * width, count * width), scores, count);
            token += count;
            for (var t = 0; t < count; t++)
            {
                var row = scores.AsSpan(t * tags, tags);
                // log-softmax: x - max - log Σ exp(x - max)
                var max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, row);
                var logSum = MathF.Log(SumOfExponentials(row));
                TensorPrimitives.Subtract(row, logSum, row);
            }
        }
        return result;
    }

    private static float SumOfExponentials(ReadOnlySpan<float> x)
    {
        Span<float> exponentials = stackalloc float[x.Length];
        TensorPrimitives.Exp(x, exponentials);
        return TensorPrimitives.Sum(exponentials);
    }
}
