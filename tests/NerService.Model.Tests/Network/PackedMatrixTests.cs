using NerService.Model.Network;

namespace NerService.Model.Tests.Network;

public class PackedMatrixTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(4, 3, 16)]
    [InlineData(7, 13, 37)]
    [InlineData(33, 64, 256)]
    [InlineData(70, 160, 800)]
    public void TheBlockedProductAddsWhatTheTextbookProductGives(int rows, int inner, int outer)
    {
        var random = new Random(rows * 1000 + inner);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var (x, w, y) = (Random(rows * inner), Random(inner * outer), Random(rows * outer));
        var expected = (float[])y.Clone();
        for (var r = 0; r < rows; r++)
        {
            for (var o = 0; o < outer; o++)
            {
                double sum = expected[r * outer + o];
                for (var k = 0; k < inner; k++)
                    sum += (double)x[r * inner + k] * w[k * outer + o];
                expected[r * outer + o] = (float)sum;
            }
        }

        new PackedMatrix(w, inner, outer).AddProduct(x, y, rows);

        for (var i = 0; i < y.Length; i++)
            Assert.True(Math.Abs(expected[i] - y[i]) < 1e-4, $"row {i / outer}, column {i % outer}: {y[i]} instead of {expected[i]}");
    }

    [Fact]
    public void ARowGetsTheSameBitsWhateverRowsItIsMultipliedWith()
    {
        var random = new Random(3);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        const int inner = 50, outer = 40;
        var (x, w) = (Random(9 * inner), Random(inner * outer));
        var packed = new PackedMatrix(w, inner, outer);
        var together = new float[9 * outer];
        packed.AddProduct(x, together, 9);
        for (var r = 0; r < 9; r++)
        {
            var alone = new float[outer];
            packed.AddProduct(x.AsSpan(r * inner, inner), alone, 1);
            Assert.Equal(together.AsSpan(r * outer, outer).ToArray(), alone);
        }
    }
}
