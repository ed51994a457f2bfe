using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace NerService.Model.Network;

/// <summary>
/// Word embedding + character CNN + casing embedding, a (bi)directional recurrent encoder, and a linear layer
/// whose softmax gives each token's tag distribution. Field names are the keys of the saved weights: renaming
/// one breaks every existing bundle.
/// </summary>
public sealed class TaggerNetwork : Module<TaggerBatch, Tensor>
{
    private readonly Embedding word_embedding;
    private readonly Embedding? char_embedding;
    private readonly Conv1d? char_cnn;
    private readonly Embedding? casing_embedding;
    private readonly Dropout input_dropout;
    private readonly Module encoder;
    private readonly Dropout output_dropout;
    private readonly Linear output;
    private readonly NetworkConfig config;

    // TorchSharp turns a number given to an operation (the 1 by which `a + b` scales b, a divisor) into a Scalar: a
    // managed object whose finalizer frees its native value, and nothing keeps such a temporary alive while the
    // native call runs. A collection started by another thread (a busy service allocates all the time) can free it
    // while libtorch reads it: an exception from c10::Scalar, seen in the model benchmark with two inference
    // threads, or another number. So prediction passes only Scalars that outlive the call: this one, never
    // collected, and local ones disposed after their last use.
    private static readonly Scalar One = 1.ToScalar();

    public TaggerNetwork(NetworkConfig config) : base(nameof(TaggerNetwork))
    {
        config.Validate();
        this.config = config;
        word_embedding = Embedding(config.WordVocabularySize, config.WordDimension, padding_idx: 0);
        var inputSize = config.WordDimension;
        if (config.UseCharacters)
        {
            char_embedding = Embedding(config.CharVocabularySize, config.CharDimension, padding_idx: 0);
            char_cnn = Conv1d(config.CharDimension, config.CharFilters, config.CharKernelWidth, padding: config.CharKernelWidth / 2);
            inputSize += config.CharFilters;
        }
        if (config.UseCasing)
        {
            casing_embedding = Embedding(Features.Casing.Count, config.CasingDimension, padding_idx: 0);
            inputSize += config.CasingDimension;
        }
        input_dropout = Dropout(config.Dropout);
        var recurrentDropout = config.Layers > 1 ? config.Dropout : 0.0;
        encoder = config.Cell switch
        {
            RecurrentCell.Lstm => LSTM(inputSize, config.HiddenSize, config.Layers, batchFirst: true, dropout: recurrentDropout, bidirectional: config.Bidirectional),
            RecurrentCell.Gru => GRU(inputSize, config.HiddenSize, config.Layers, batchFirst: true, dropout: recurrentDropout, bidirectional: config.Bidirectional),
            _ => RNN(inputSize, config.HiddenSize, config.Layers, batchFirst: true, dropout: recurrentDropout, bidirectional: config.Bidirectional),
        };
        output_dropout = Dropout(config.Dropout);
        output = Linear(config.HiddenSize * (config.Bidirectional ? 2 : 1), config.TagCount);
        RegisterComponents();
    }

    public NetworkConfig Config => config;

    /// <summary>The encoder, for tests that check it against the gate equations.</summary>
    internal Module Encoder => encoder;

    internal Linear Output => output;

    internal Embedding WordEmbedding => word_embedding;

    /// <summary>The word vectors, [words, dimension] (the embedding's own weights: copy before changing them).</summary>
    public Tensor WordVectors => word_embedding.weight!;

    /// <summary>Copies word vectors, [words, dimension], into the word embedding (pretrained vectors, a teacher's).</summary>
    public void LoadWordVectors(Tensor vectors)
    {
        using var _ = no_grad();
        word_embedding.weight!.copy_(vectors);
    }

    /// <summary>Whether training changes the word vectors (kept as loaded when a stage starts from given ones).</summary>
    public bool WordVectorsTrainable
    {
        get => word_embedding.weight!.requires_grad;
        set => word_embedding.weight!.requires_grad = value;
    }

    /// <summary>Returns unnormalised tag scores, shape [batch, time, tags]; a log-softmax gives the per-token distribution.</summary>
    public override Tensor forward(TaggerBatch batch)
    {
        using var scope = NewDisposeScope();
        var input = input_dropout.call(InputFeatures(batch, CharacterFeaturesByConvolution));
        var encoded = Encode(input, batch.Lengths);
        return output.call(output_dropout.call(encoded)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Inference: the tag log-probabilities of the real tokens only, shape [tokens, tags], sentence after sentence
    /// in the order of <see cref="TaggerBatch.TokenPositions"/>. Equal to a log-softmax of <see cref="forward"/>
    /// in evaluation mode (to float rounding), without the work <see cref="forward"/> spends on padding.
    /// </summary>
    public Tensor TokenLogProbabilities(TaggerBatch batch)
    {
        using var scope = NewDisposeScope();
        return TagLogProbabilities(EncodedTokens(InferenceInput(batch), batch)).MoveToOuterDisposeScope();
    }

    // The three parts of TokenLogProbabilities, apart so that the profiler (NerService.Benchmarks profile) can time each.
    internal Tensor InferenceInput(TaggerBatch batch) => InputFeatures(batch, CharacterFeaturesByLookup);

    internal Tensor EncodedTokens(Tensor input, TaggerBatch batch) => EncodeTokens(input, batch);

    internal Tensor TagLogProbabilities(Tensor encoded) => output.call(encoded).log_softmax(1);

    private Tensor InputFeatures(TaggerBatch batch, Func<Tensor, Tensor> characterFeatures)
    {
        var features = new List<Tensor> { word_embedding.call(batch.Words) };
        if (char_embedding is not null && char_cnn is not null)
        {
            // Characters come once per distinct word of the batch ([words, characters]): no convolution runs on a
            // padding token or twice on the same word. Each real token takes its word's features at its position.
            var (b, t) = (batch.Words.shape[0], batch.Words.shape[1]);
            var filters = characterFeatures(batch.Chars).index_select(0, batch.CharWords);   // [tokens, filters]
            var placed = zeros(b * t, filters.shape[1], filters.dtype, filters.device).index_copy(0, batch.TokenPositions, filters);
            features.Add(placed.view(b, t, -1));
        }
        if (casing_embedding is not null)
            features.Add(casing_embedding.call(batch.Casing));
        return features.Count == 1 ? features[0] : cat(features, dim: 2);
    }

    // [words, characters] → [words, filters]: embed, convolve, max over positions. What training differentiates.
    private Tensor CharacterFeaturesByConvolution(Tensor chars)
        => char_cnn!.call(char_embedding!.call(chars).transpose(1, 2)).max(dim: 2).values;

    // The same numbers with no convolution: embedding and convolution are both linear, so each character's
    // contribution at each kernel offset is a row of a small table (characters × offsets·filters), and the
    // convolution at a position is the sum of its window's rows. The table is made from the current weights
    // on every call (a few microseconds), so it can never be stale while a trainer evaluates between epochs.
    private Tensor CharacterFeaturesByLookup(Tensor chars)
    {
        var (words, width) = (chars.shape[0], chars.shape[1]);
        var kernel = char_cnn!.weight!;                                          // [filters, dim, kernel]
        var (filters, kernelWidth) = (kernel.shape[0], kernel.shape[2]);
        var embedding = char_embedding!.weight!;
        var table = embedding.matmul(kernel.permute(1, 2, 0).reshape(kernel.shape[1], -1));   // [chars, kernel·filters]
        // The convolution pads with zeros (not with the padding character's row): one more row of zeros stands for them.
        table = cat([table, zeros(1, table.shape[1], table.dtype, table.device)], 0);
        var padding = kernelWidth / 2;
        var padded = torch.nn.functional.pad(chars, [padding, padding], value: embedding.shape[0]);
        var positions = width + 2 * padding - kernelWidth + 1;
        var rows = table.index_select(0, padded.flatten()).view(words, width + 2 * padding, kernelWidth * filters);
        var convolved = rows.narrow(1, 0, positions).narrow(2, 0, filters);
        for (var k = 1; k < kernelWidth; k++)
            convolved = convolved.add(rows.narrow(1, k, positions).narrow(2, k * filters, filters), One);
        return convolved.max(dim: 1).values.add(char_cnn.bias!, One);
    }

    private Tensor Encode(Tensor input, Tensor lengths)
    {
        // One sentence has no padding: packing would only add work.
        if (input.shape[0] == 1)
            return encoder switch
            {
                LSTM lstm => lstm.call(input).Item1,
                GRU gru => gru.call(input).Item1,
                RNN rnn => rnn.call(input).Item1,
                _ => throw new InvalidOperationException(),
            };
        return torch.nn.utils.rnn.pad_packed_sequence(EncodePacked(input, lengths), batch_first: true, total_length: input.shape[1]).Item1;
    }

    // Packing skips the padding: no step is computed on it, and the backward direction starts at each sentence's real end.
    private torch.nn.utils.rnn.PackedSequence EncodePacked(Tensor input, Tensor lengths)
    {
        var packed = torch.nn.utils.rnn.pack_padded_sequence(input, lengths, batch_first: true, enforce_sorted: false);
        return encoder switch
        {
            LSTM lstm => lstm.call(packed).Item1,
            GRU gru => gru.call(packed).Item1,
            RNN rnn => rnn.call(packed).Item1,
            _ => throw new InvalidOperationException(),
        };
    }

    // The encoder's outputs for the real tokens only, [tokens, hidden], in the order of batch.TokenPositions:
    // read straight from the packed result, so nothing is padded back out only to be thrown away.
    private Tensor EncodeTokens(Tensor input, TaggerBatch batch)
    {
        // One sentence: its tokens are its first positions (none, for an empty sentence padded to one position).
        if (input.shape[0] == 1)
            return Encode(input, batch.Lengths).squeeze(0).narrow(0, 0, batch.TokenPositions.shape[0]);
        var time = input.shape[1];
        using var result = EncodePacked(input, batch.Lengths);
        // Packed rows go step by step, and within a step by sentence in order of decreasing length: the row of
        // sentence b at step t is (rows of the steps before t) + (b's rank among the sentences sorted).
        var stepStarts = result.batch_sizes.cumsum(0).sub(result.batch_sizes).to(input.device);
        var rank = result.unsorted_indices.to(input.device);
        using var steps = time.ToScalar();
        var rows = stepStarts.index_select(0, batch.TokenPositions.remainder(steps))
            .add(rank.index_select(0, batch.TokenPositions.div(steps, rounding_mode: RoundingMode.floor)), One);
        return result.data.index_select(0, rows);
    }
}

/// <summary>
/// One batch of sentences as tensors: word ids [batch, time]; character ids of each distinct word of the batch
/// [words, characters]; for each real token, the row of its word in <see cref="Chars"/> (<see cref="CharWords"/>
/// [tokens]) and its flat position <c>b * time + t</c> (<see cref="TokenPositions"/> [tokens]); casing ids
/// [batch, time]; and each sentence's length [batch] (int64, on the CPU as packing requires).
/// </summary>
public sealed record TaggerBatch(Tensor Words, Tensor Chars, Tensor CharWords, Tensor TokenPositions, Tensor Casing, Tensor Lengths) : IDisposable
{
    public void Dispose()
    {
        Words.Dispose();
        Chars.Dispose();
        CharWords.Dispose();
        TokenPositions.Dispose();
        Casing.Dispose();
        Lengths.Dispose();
    }
}
