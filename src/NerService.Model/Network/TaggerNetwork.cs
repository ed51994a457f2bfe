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

    /// <summary>Returns unnormalised tag scores, shape [batch, time, tags]; a log-softmax gives the per-token distribution.</summary>
    public override Tensor forward(TaggerBatch batch)
    {
        using var scope = NewDisposeScope();
        var features = new List<Tensor> { word_embedding.call(batch.Words) };
        if (char_embedding is not null && char_cnn is not null)
        {
            // Characters come once per distinct word of the batch ([words, characters]): no convolution runs on a
            // padding token or twice on the same word. Each real token takes its word's features at its position.
            var (b, t) = (batch.Words.shape[0], batch.Words.shape[1]);
            var chars = char_embedding.call(batch.Chars).transpose(1, 2);         // [words, dim, characters]
            var filters = char_cnn.call(chars).max(dim: 2).values                  // [words, filters]
                .index_select(0, batch.CharWords);                                 // [tokens, filters]
            var placed = zeros(b * t, filters.shape[1], filters.dtype, filters.device).index_copy(0, batch.TokenPositions, filters);
            features.Add(placed.view(b, t, -1));
        }
        if (casing_embedding is not null)
            features.Add(casing_embedding.call(batch.Casing));
        var input = input_dropout.call(features.Count == 1 ? features[0] : cat(features, dim: 2));

        var encoded = Encode(input, batch.Lengths);
        return output.call(output_dropout.call(encoded)).MoveToOuterDisposeScope();
    }

    private Tensor Encode(Tensor input, Tensor lengths)
    {
        var time = input.shape[1];
        if (input.shape[0] == 1)
        {
            // One sentence has no padding: packing would only add work.
            return encoder switch
            {
                LSTM lstm => lstm.call(input).Item1,
                GRU gru => gru.call(input).Item1,
                RNN rnn => rnn.call(input).Item1,
                _ => throw new InvalidOperationException(),
            };
        }
        // Packing skips the padding: no step is computed on it, and the backward direction starts at each sentence's real end.
        var packed = torch.nn.utils.rnn.pack_padded_sequence(input, lengths, batch_first: true, enforce_sorted: false);
        var result = encoder switch
        {
            LSTM lstm => lstm.call(packed).Item1,
            GRU gru => gru.call(packed).Item1,
            RNN rnn => rnn.call(packed).Item1,
            _ => throw new InvalidOperationException(),
        };
        return torch.nn.utils.rnn.pad_packed_sequence(result, batch_first: true, total_length: time).Item1;
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
