using System.Numerics;
using System.Runtime.CompilerServices;

namespace NerService.Model.Network;

/// <summary>
/// The LSTM cell's element-wise step in one vectorised pass, for <see cref="CpuLstmTagger"/>: gates, candidate,
/// cell and hidden state together, with its own exponential. Its own rather than the vector library's because
/// that library's generic kernels run unoptimised until the runtime recompiles them, seconds into a busy
/// service; this code is compiled optimised at its first call.
/// </summary>
internal static class LstmCellMath
{
    /// <summary>
    /// One step on the summed pre-activations <paramref name="gates"/> (PyTorch's order: input, forget, candidate,
    /// output; each <paramref name="c"/>.Length long): c = σ(f)·c + σ(i)·tanh(g), h = σ(o)·tanh(c).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Step(ReadOnlySpan<float> gates, Span<float> h, Span<float> c)
    {
        var n = c.Length;
        var lanes = Vector<float>.Count;
        var j = 0;
        for (; j + lanes <= n; j += lanes)
        {
            var input = Sigmoid(new Vector<float>(gates[j..]));
            var forget = Sigmoid(new Vector<float>(gates[(n + j)..]));
            var candidate = Tanh(new Vector<float>(gates[(2 * n + j)..]));
            var output = Sigmoid(new Vector<float>(gates[(3 * n + j)..]));
            var cell = forget * new Vector<float>(c[j..]) + input * candidate;
            cell.CopyTo(c[j..]);
            (output * Tanh(cell)).CopyTo(h[j..]);
        }
        for (; j < n; j++)
        {
            var cell = Sigmoid(gates[n + j]) * c[j] + Sigmoid(gates[j]) * MathF.Tanh(gates[2 * n + j]);
            c[j] = cell;
            h[j] = Sigmoid(gates[3 * n + j]) * MathF.Tanh(cell);
        }
    }

    private static float Sigmoid(float x) => 1 / (1 + MathF.Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Exp(-x));

    // tanh x = 2σ(2x) − 1: absolute error about 1e-7, which is what float arithmetic gives anyway.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Tanh(Vector<float> x) => new Vector<float>(2) * Sigmoid(x + x) - Vector<float>.One;

    /// <summary>
    /// e^x for float lanes (Cephes' expf): x = n·ln 2 + r with |r| ≤ ln 2 / 2, a degree-6 polynomial for e^r, and
    /// 2^n put straight into the exponent bits. Relative error below 2e-7 over the clamped range.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> Exp(Vector<float> x)
    {
        x = Vector.Min(Vector.Max(x, new Vector<float>(-87.3f)), new Vector<float>(88.3f));
        var n = Vector.Floor(x * new Vector<float>(1.44269504088896341f) + new Vector<float>(0.5f));
        var r = x - n * new Vector<float>(0.693359375f) + n * new Vector<float>(2.12194440e-4f);
        var p = new Vector<float>(1.9875691500e-4f);
        p = p * r + new Vector<float>(1.3981999507e-3f);
        p = p * r + new Vector<float>(8.3334519073e-3f);
        p = p * r + new Vector<float>(4.1665795894e-2f);
        p = p * r + new Vector<float>(1.6666665459e-1f);
        p = p * r + new Vector<float>(5.0000001201e-1f);
        p = p * r * r + r + Vector<float>.One;
        var exponent = Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23);
        return p * Vector.AsVectorSingle(exponent);
    }
}
