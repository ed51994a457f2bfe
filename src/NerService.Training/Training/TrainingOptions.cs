using NerService.Model.Corpus;
using NerService.Model.Inference;
using NerService.Model.Network;

namespace NerService.Training.Training;

/// <summary>Everything a training run can be told; stored in the bundle it writes.</summary>
public sealed record TrainingOptions
{
    public required string TrainPath { get; init; }
    public required string ValidationPath { get; init; }
    public required string OutputPath { get; init; }

    /// <summary>The vector cache from <c>scripts/fetch-embeddings.sh</c>; null trains word embeddings from scratch.</summary>
    public string? EmbeddingsPath { get; init; }

    /// <summary>
    /// Start from this bundle's vocabulary and weights instead of a fresh network (architecture options are then
    /// the bundle's): a second stage, for example fine-tuning the word vectors at a lower learning rate.
    /// </summary>
    public string? InitFrom { get; init; }

    /// <summary>
    /// Reviewed documents (CoNLL, as <c>GET /documents/export?format=conll&amp;reviewed=true</c> writes them) mixed into the
    /// training data, each sentence <see cref="CorrectionsWeight"/> times per epoch. With <see cref="InitFrom"/> the
    /// served bundle, the model learns the corrections while the original training data keeps it from forgetting
    /// what it knew.
    /// </summary>
    public IReadOnlyList<string> Corrections { get; init; } = [];

    /// <summary>
    /// How many times each corrected sentence is repeated in every epoch (at least 1): a few hundred corrections
    /// among thousands of training sentences would otherwise barely move the weights.
    /// </summary>
    public int CorrectionsWeight { get; init; } = 5;

    /// <summary>The scheme of the data files when known; detected otherwise.</summary>
    public TaggingScheme? InputScheme { get; init; }

    /// <summary>The scheme the model predicts in.</summary>
    public TaggingScheme Scheme { get; init; } = TaggingScheme.Bioes;

    public RecurrentCell Cell { get; init; } = RecurrentCell.Lstm;
    public bool Bidirectional { get; init; } = true;
    public int HiddenSize { get; init; } = 200;
    public int Layers { get; init; } = 1;
    public double Dropout { get; init; } = 0.5;
    public bool UseCharacters { get; init; } = true;
    public bool UseCasing { get; init; } = true;

    /// <summary>Pretrained words kept in the vocabulary besides those of the training data (bounds the bundle's size).</summary>
    public int PretrainedWords { get; init; } = 40_000;

    /// <summary>
    /// Whether pretrained word vectors are updated by training. Off by default: words seen in training and words
    /// met only in production then stay in the same vector space, and each step skips a dense optimizer update of
    /// the whole embedding table (most of a step's time on two cores). Without pretrained vectors the embedding
    /// is always trained.
    /// </summary>
    public bool FineTuneEmbeddings { get; init; }

    /// <summary>
    /// Also train on each training document written as running text and cut by the service's own tokenizer and
    /// sentence splitter, wherever that cut differs from the data set's sentences (headlines, bylines and
    /// datelines without closing punctuation run into the next sentence): the inputs a user's text will give.
    /// </summary>
    public bool AddRunningText { get; init; }

    /// <summary>
    /// The share of training sentences re-cased each epoch (0 turns it off): each such sentence, drawn anew every
    /// epoch from a seeded generator, is lowercased, uppercased or title-cased with equal chance, its tags unchanged
    /// (Mayhew et al. 2019). Validation then scores every casing and picks the epoch by their mean F1; with
    /// <see cref="AddRunningText"/>, the documents are also cut as running text at each casing.
    /// </summary>
    public double CasingAugmentation { get; init; }

    /// <summary>
    /// Knowledge distillation: a trained bundle whose per-token tag distributions, computed on the very sentences
    /// the student sees each epoch (re-cased and running text included), are soft targets beside the gold tags.
    /// A fresh student takes the teacher's vocabularies, tag set and word vectors (frozen unless
    /// <see cref="FineTuneEmbeddings"/>); the architecture options describe the student.
    /// </summary>
    public string? TeacherPath { get; init; }

    /// <summary>The soft targets' share of the loss: (1 - w) · cross-entropy to the gold tags + w · T² · KL(teacher ‖ student).</summary>
    public double DistillationWeight { get; init; } = 0.5;

    /// <summary>
    /// Both distributions are softened as softmax(logits / T) before they are compared: a confident teacher's
    /// second choices (ORG or LOC for a country's name) then carry weight. The T² factor keeps the soft term's
    /// gradients at the scale of the hard one's.
    /// </summary>
    public double DistillationTemperature { get; init; } = 1.0;

    /// <summary>
    /// The teacher reads each training sentence in its original casing, and its scores are the soft targets of every
    /// re-casing of it: a cased-only teacher then teaches the student to find in lowercased text what it finds with
    /// the capitals, and holds the student's cased accuracy (with <see cref="CasingAugmentation"/>).
    /// </summary>
    public bool TeacherReadsOriginalCasing { get; init; }

    public int Epochs { get; init; } = 40;

    /// <summary>Stop after this many epochs without a better validation F1.</summary>
    public int Patience { get; init; } = 6;

    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 0.001;

    /// <summary>Learning rate at epoch e is LearningRate / (1 + LearningRateDecay * e).</summary>
    public double LearningRateDecay { get; init; } = 0.05;

    public double GradientClipNorm { get; init; } = 5.0;

    /// <summary>
    /// Stochastic weight averaging: validate (and keep as the bundle) the running mean of the weights at the end of
    /// each epoch of this run instead of the last weights. Meant for a last stage from a trained bundle at a
    /// constant learning rate, where the weights wander around a good solution and their mean generalises better.
    /// </summary>
    public bool AverageWeights { get; init; }
    public int Seed { get; init; } = 1;

    /// <summary>Decoding used to score validation (and so to pick the best epoch).</summary>
    public Decoding ValidationDecoding { get; init; } = Decoding.Constrained;

    /// <summary>Continue from the checkpoint beside <see cref="OutputPath"/> when there is one.</summary>
    public bool Resume { get; init; }

    /// <summary>The model's name in the bundle; null: <c>conll2003-bilstm</c>, or the <see cref="InitFrom"/> bundle's name.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// The model's version in the bundle; null: <c>1.0.0</c>, or the <see cref="InitFrom"/> bundle's version. A
    /// fine-tuned model served in place of its parent should get a version of its own, so that responses and stored
    /// documents tell the two apart.
    /// </summary>
    public string? Version { get; init; }

    /// <summary>Log progress every this many batches.</summary>
    public int ProgressEvery { get; init; } = 50;

    public IReadOnlyDictionary<string, string> Describe() => new Dictionary<string, string>
    {
        ["scheme"] = Scheme.ToString(),
        ["cell"] = Cell.ToString(),
        ["bidirectional"] = Bidirectional.ToString(),
        ["hiddenSize"] = HiddenSize.ToString(),
        ["layers"] = Layers.ToString(),
        ["dropout"] = Dropout.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["useCharacters"] = UseCharacters.ToString(),
        ["useCasing"] = UseCasing.ToString(),
        ["pretrained"] = EmbeddingsPath is null ? "none" : "glove-6b-100d",
        ["initFrom"] = InitFrom is null ? "none" : Path.GetFileName(InitFrom),
        ["corrections"] = Corrections.Count == 0 ? "none" : string.Join(", ", Corrections.Select(Path.GetFileName)),
        ["correctionsWeight"] = CorrectionsWeight.ToString(),
        ["pretrainedWords"] = PretrainedWords.ToString(),
        ["fineTuneEmbeddings"] = FineTuneEmbeddings.ToString(),
        ["epochs"] = Epochs.ToString(),
        ["patience"] = Patience.ToString(),
        ["batchSize"] = BatchSize.ToString(),
        ["learningRate"] = LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["learningRateDecay"] = LearningRateDecay.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["gradientClipNorm"] = GradientClipNorm.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["averageWeights"] = AverageWeights.ToString(),
        ["addRunningText"] = AddRunningText.ToString(),
        ["casingAugmentation"] = CasingAugmentation.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["teacher"] = TeacherPath is null ? "none" : Path.GetFileName(TeacherPath),
        ["distillationWeight"] = DistillationWeight.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["distillationTemperature"] = DistillationTemperature.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["teacherReadsOriginalCasing"] = TeacherReadsOriginalCasing.ToString(),
        ["seed"] = Seed.ToString(),
        ["optimizer"] = "Adam",
        ["validationDecoding"] = ValidationDecoding.ToString(),
    };
}
