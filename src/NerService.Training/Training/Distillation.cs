using NerService.Model.Bundles;
using NerService.Model.Corpus;
using NerService.Model.Inference;
using NerService.Model.Network;
using static TorchSharp.torch;

namespace NerService.Training.Training;

/// <summary>
/// Knowledge distillation (Hinton et al. 2015): a trained teacher's per-token tag distributions as soft targets
/// for a smaller student. The teacher reads exactly the sentences the student trains on each epoch (re-cased ones
/// and running text included), in inference mode. Its output for a sentence depends only on the sentence (a
/// text's scores do not depend on what shares its batch), so each distinct sentence is scored once and kept:
/// re-cased variants recur across epochs, and the run repeats exactly whichever epoch first met them.
/// With <c>readsOriginalCasing</c> the teacher instead reads each sentence as first cased and its scores serve every
/// re-casing of it (learning without forgetting, Li and Hoiem 2016): a cased-only teacher is right on cased text and
/// near blind on lowercased text, so it shows the student what the capitals said, and keeps the student's cased
/// accuracy from drifting while it learns the other casings.
/// </summary>
public sealed class Distillation : IDisposable
{
    private readonly NerModel teacher;
    private readonly Dictionary<string, float[]> logProbabilities = new(StringComparer.Ordinal);
    private readonly double temperature;

    public Distillation(string teacherPath, double weight, double temperature, bool readsOriginalCasing = false)
    {
        if (weight is < 0 or > 1)
            throw new ArgumentException($"--distillation-weight must be in [0, 1], not {weight}.");
        if (temperature <= 0)
            throw new ArgumentException($"--temperature must be positive, not {temperature}.");
        Bundle = ModelBundle.Load(teacherPath);
        teacher = new NerModel(Bundle, CPU);
        Weight = weight;
        this.temperature = temperature;
        ReadsOriginalCasing = readsOriginalCasing;
    }

    /// <summary>The teacher's bundle: a fresh student takes its vocabularies, tags and word vectors.</summary>
    public ModelBundle Bundle { get; }

    public double Weight { get; }

    /// <summary>Whether the teacher's scores are keyed by the sentence whatever its casing (see the class).</summary>
    public bool ReadsOriginalCasing { get; }

    /// <summary>
    /// Scores every sentence the teacher has not seen yet, in batches (the first epoch and new casings). When it reads
    /// the original casing, give it the sentences as cased: the first of any that differ only in casing is kept.
    /// </summary>
    public void Prepare(IReadOnlyList<ConllSentence> sentences)
    {
        var missing = new List<IReadOnlyList<string>>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sentence in sentences)
        {
            var key = Key(sentence.Tokens);
            if (!logProbabilities.ContainsKey(key) && keys.Add(key))
                missing.Add(sentence.Tokens);
        }
        if (missing.Count == 0)
            return;
        var scores = teacher.PredictLogProbabilities(missing);
        for (var i = 0; i < missing.Count; i++)
            logProbabilities[Key(missing[i])] = scores[i];
    }

    /// <summary>
    /// The soft-target loss of a batch: T² · mean over real tokens of KL(teacher_T ‖ student_T), where _T is the
    /// softmax at temperature T. <paramref name="studentLogits"/> is [tokens, tags] in the order of the sentences.
    /// A sentence the teacher has no scores for (read as cased, a re-cased text the splitter cut differently) is
    /// left to the gold tags: the teacher reading it re-cased would teach its blindness.
    /// </summary>
    public Tensor Loss(Tensor studentLogits, IReadOnlyList<ConllSentence> sentences)
    {
        using var scope = NewDisposeScope();
        var tags = (int)studentLogits.shape[1];
        var flat = new List<float>((int)studentLogits.shape[0] * tags);
        var rows = new List<long>((int)studentLogits.shape[0]);
        var offset = 0;
        foreach (var sentence in sentences)
        {
            if (logProbabilities.TryGetValue(Key(sentence.Tokens), out var scores))
            {
                flat.AddRange(scores);
                for (var t = 0; t < sentence.Tokens.Count; t++)
                    rows.Add(offset + t);
            }
            else if (!ReadsOriginalCasing)
            {
                throw new InvalidOperationException("The teacher has not scored a sentence of this batch: call Prepare first.");
            }
            offset += sentence.Tokens.Count;
        }
        if (rows.Count == 0)
            return zeros([], studentLogits.dtype).MoveToOuterDisposeScope();
        var student = rows.Count == offset ? studentLogits : studentLogits.index_select(0, tensor(rows.ToArray()));
        // Log-probabilities differ from logits by a constant per token, so dividing them by T and normalising
        // again gives the teacher's softmax at temperature T.
        var teacherLog = tensor(flat.ToArray(), [rows.Count, tags]).div(temperature).log_softmax(1);
        var studentLog = student.div(temperature).log_softmax(1);
        var divergence = teacherLog.exp().mul(teacherLog.sub(studentLog)).sum(1).mean();
        return divergence.mul(temperature * temperature).MoveToOuterDisposeScope();
    }

    public void Dispose() => teacher.Dispose();

    private string Key(IReadOnlyList<string> tokens) =>
        ReadsOriginalCasing ? string.Join('\u001F', tokens).ToLowerInvariant() : string.Join('\u001F', tokens);
}
