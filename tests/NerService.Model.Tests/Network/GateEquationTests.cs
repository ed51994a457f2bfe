using NerService.Model.Network;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NerService.Model.Tests.Network;

/// <summary>
/// The recurrent cells computed by hand from their gate equations, step by step, in both directions, compared
/// with TorchSharp's modules holding the same weights. PyTorch stacks an LSTM's gate weights as
/// [input Γi, forget Γf, candidate c̃, output Γo] and a GRU's as [reset r, update z, new n].
/// </summary>
public class GateEquationTests
{
    private const int InputSize = 5;
    private const int Hidden = 4;
    private const int Steps = 6;
    private const double Tolerance = 1e-5;

    [Fact]
    public void ABidirectionalLstmMatchesTheGateEquationsInBothDirections()
    {
        manual_seed(11);
        using var lstm = nn.LSTM(InputSize, Hidden, bidirectional: true, batchFirst: true);
        var x = Random(Steps, InputSize, seed: 3);
        using var input = tensor(Flatten(x), [1, Steps, InputSize]);
        using var _ = no_grad();
        var (output, _, _) = lstm.call(input);
        var actual = output.data<float>().ToArray(); // [1, Steps, 2 * Hidden]

        var forward = LstmByHand(x, Parameters(lstm, ""));
        var backward = LstmByHand(x.Reverse().ToArray(), Parameters(lstm, "_reverse")).Reverse().ToArray();
        for (var t = 0; t < Steps; t++)
        {
            for (var j = 0; j < Hidden; j++)
            {
                Assert.Equal(forward[t][j], actual[t * 2 * Hidden + j], Tolerance);
                Assert.Equal(backward[t][j], actual[t * 2 * Hidden + Hidden + j], Tolerance);
            }
        }
    }

    [Fact]
    public void ABidirectionalGruMatchesItsUpdateAndResetGateEquations()
    {
        manual_seed(12);
        using var gru = nn.GRU(InputSize, Hidden, bidirectional: true, batchFirst: true);
        var x = Random(Steps, InputSize, seed: 4);
        using var input = tensor(Flatten(x), [1, Steps, InputSize]);
        using var _ = no_grad();
        var (output, _) = gru.call(input);
        var actual = output.data<float>().ToArray();

        var forward = GruByHand(x, Parameters(gru, ""));
        var backward = GruByHand(x.Reverse().ToArray(), Parameters(gru, "_reverse")).Reverse().ToArray();
        for (var t = 0; t < Steps; t++)
        {
            for (var j = 0; j < Hidden; j++)
            {
                Assert.Equal(forward[t][j], actual[t * 2 * Hidden + j], Tolerance);
                Assert.Equal(backward[t][j], actual[t * 2 * Hidden + Hidden + j], Tolerance);
            }
        }
    }

    [Fact]
    public void TheTaggerOutputIsASoftmaxOfTheLinearLayerOverTheEncoderStates()
    {
        manual_seed(13);
        var config = new NetworkConfig
        {
            WordVocabularySize = 10, WordDimension = InputSize, UseCharacters = false, UseCasing = false,
            HiddenSize = Hidden, TagCount = 3, Dropout = 0,
        };
        using var network = new TaggerNetwork(config);
        network.eval();
        using var _ = no_grad();
        long[] ids = [2, 5, 7, 3];
        using var batch = new TaggerBatch(tensor(ids, [1, 4]), zeros(4, 1, ScalarType.Int64), arange(4L), arange(4L), zeros(1, 4, ScalarType.Int64), tensor(new long[] { 4 }));
        var probabilities = network.call(batch).softmax(2).data<float>().ToArray();

        // By hand: embeddings -> LSTM in both directions (gate equations) -> ŷ = softmax(Wy a + by).
        var embedding = Matrix(network.WordEmbedding.weight!);
        var x = ids.Select(id => embedding[id]).ToArray();
        var lstm = (LSTM)network.Encoder;
        var forward = LstmByHand(x, Parameters(lstm, ""));
        var backward = LstmByHand(x.Reverse().ToArray(), Parameters(lstm, "_reverse")).Reverse().ToArray();
        var wy = Matrix(network.Output.weight!);
        var by = network.Output.bias!.data<float>().ToArray();
        for (var t = 0; t < ids.Length; t++)
        {
            var a = forward[t].Concat(backward[t]).ToArray();
            var logits = Enumerable.Range(0, 3).Select(k => Dot(wy[k], a) + by[k]).ToArray();
            var max = logits.Max();
            var sum = logits.Sum(l => Math.Exp(l - max));
            for (var k = 0; k < 3; k++)
                Assert.Equal(Math.Exp(logits[k] - max) / sum, probabilities[t * 3 + k], Tolerance);
        }
    }

    private sealed record Weights(double[][] Wih, double[][] Whh, double[] Bih, double[] Bhh);

    private static Weights Parameters(nn.Module module, string suffix)
    {
        var p = module.named_parameters().ToDictionary(n => n.name, n => n.parameter);
        return new Weights(
            Matrix(p[$"weight_ih_l0{suffix}"]), Matrix(p[$"weight_hh_l0{suffix}"]),
            p[$"bias_ih_l0{suffix}"].data<float>().Select(v => (double)v).ToArray(),
            p[$"bias_hh_l0{suffix}"].data<float>().Select(v => (double)v).ToArray());
    }

    // Γi, Γf, Γo = σ(W[a⟨t−1⟩, x⟨t⟩] + b); c̃ = tanh(Wc[a⟨t−1⟩, x⟨t⟩] + bc);
    // c⟨t⟩ = Γf∗c⟨t−1⟩ + Γi∗c̃⟨t⟩; a⟨t⟩ = Γo∗tanh(c⟨t⟩).
    private static double[][] LstmByHand(double[][] x, Weights w)
    {
        var a = new double[Hidden];
        var c = new double[Hidden];
        var outputs = new double[x.Length][];
        for (var t = 0; t < x.Length; t++)
        {
            double Gate(int block, int j) =>
                Dot(w.Wih[block * Hidden + j], x[t]) + w.Bih[block * Hidden + j] + Dot(w.Whh[block * Hidden + j], a) + w.Bhh[block * Hidden + j];
            var next = new double[Hidden];
            var nextC = new double[Hidden];
            for (var j = 0; j < Hidden; j++)
            {
                var update = Sigmoid(Gate(0, j));
                var forget = Sigmoid(Gate(1, j));
                var candidate = Math.Tanh(Gate(2, j));
                var output = Sigmoid(Gate(3, j));
                nextC[j] = forget * c[j] + update * candidate;
                next[j] = output * Math.Tanh(nextC[j]);
            }
            (a, c) = (next, nextC);
            outputs[t] = a;
        }
        return outputs;
    }

    // r = σ(Wr x + br + Ur h + cr); z = σ(Wz x + bz + Uz h + cz); n = tanh(Wn x + bn + r∗(Un h + cn));
    // h⟨t⟩ = (1 − z)∗n + z∗h⟨t−1⟩.
    private static double[][] GruByHand(double[][] x, Weights w)
    {
        var h = new double[Hidden];
        var outputs = new double[x.Length][];
        for (var t = 0; t < x.Length; t++)
        {
            var next = new double[Hidden];
            for (var j = 0; j < Hidden; j++)
            {
                double Input(int block) => Dot(w.Wih[block * Hidden + j], x[t]) + w.Bih[block * Hidden + j];
                double Recurrent(int block) => Dot(w.Whh[block * Hidden + j], h) + w.Bhh[block * Hidden + j];
                var reset = Sigmoid(Input(0) + Recurrent(0));
                var update = Sigmoid(Input(1) + Recurrent(1));
                var candidate = Math.Tanh(Input(2) + reset * Recurrent(2));
                next[j] = (1 - update) * candidate + update * h[j];
            }
            h = next;
            outputs[t] = h;
        }
        return outputs;
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private static double Dot(double[] a, double[] b) => a.Zip(b, (p, q) => p * q).Sum();

    private static double[][] Matrix(Tensor t)
    {
        var (rows, columns) = ((int)t.shape[0], (int)t.shape[1]);
        var values = t.data<float>().ToArray();
        return Enumerable.Range(0, rows).Select(r => values.Skip(r * columns).Take(columns).Select(v => (double)v).ToArray()).ToArray();
    }

    private static double[][] Random(int rows, int columns, int seed)
    {
        var random = new System.Random(seed);
        return Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, columns).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
    }

    private static float[] Flatten(double[][] x) => x.SelectMany(r => r.Select(v => (float)v)).ToArray();
}
