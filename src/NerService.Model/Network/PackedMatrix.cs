using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NerService.Model.Network;

/// <summary>
/// A weight matrix w [inner, outer] laid out for y += x · w with small x, the one product
/// <see cref="CpuLstmTagger"/> needs. The columns are cut into panels two vectors wide, each stored contiguously
/// row after row (the usual packing of matrix-multiply kernels), so the inner loop reads weights sequentially.
/// Four rows of x go against a panel at a time, with eight accumulators in registers over the whole inner
/// dimension. Every row is computed in the same order whatever the other rows are, so a sentence's scores do not
/// depend on what it shares a batch with.
/// </summary>
internal sealed class PackedMatrix
{
    // Rows of x per tile: a tile's rows (TileRows × inner floats) stay cached while every panel passes over them.
    private const int TileRows = 32;
    private static readonly int PanelWidth = 2 * Vector<float>.Count;

    private readonly float[] panels;   // [panel, inner, PanelWidth]
    private readonly float[] tail;     // the columns past the last whole panel, column after column: [column, inner]
    private readonly int panelColumns;

    /// <summary>Packs <paramref name="w"/>, row-major [<paramref name="inner"/>, <paramref name="outer"/>].</summary>
    public PackedMatrix(ReadOnlySpan<float> w, int inner, int outer)
    {
        if (w.Length != inner * outer)
            throw new ArgumentException($"A matrix of {inner} × {outer} has {inner * outer} values, not {w.Length}.");
        (Inner, Outer) = (inner, outer);
        panelColumns = outer - outer % PanelWidth;
        panels = new float[inner * panelColumns];
        for (var p = 0; p < panelColumns; p += PanelWidth)
        {
            for (var k = 0; k < inner; k++)
                w.Slice(k * outer + p, PanelWidth).CopyTo(panels.AsSpan(p * inner + k * PanelWidth));
        }
        tail = new float[inner * (outer - panelColumns)];
        for (var o = panelColumns; o < outer; o++)
        {
            for (var k = 0; k < inner; k++)
                tail[(o - panelColumns) * inner + k] = w[k * outer + o];
        }
    }

    public int Inner { get; }

    public int Outer { get; }

    /// <summary>y[rows, Outer] += x[rows, Inner] · w.</summary>
    // Fully optimised from the first call: under tiered compilation these loops stayed about ten times slower at
    // some sizes (the default model's recurrent step at batch 64, and one row of it alone).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddProduct(ReadOnlySpan<float> x, Span<float> y, int rows)
    {
        if (x.Length < rows * Inner || y.Length < rows * Outer)
            throw new ArgumentException("The matrices are smaller than their sizes say.");
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var yr = ref MemoryMarshal.GetReference(y);
        for (var tile = 0; tile < rows; tile += TileRows)
        {
            var tileEnd = Math.Min(rows, tile + TileRows);
            var fourRowsEnd = tile + (tileEnd - tile) / 4 * 4;
            for (var p = 0; p < panelColumns; p += PanelWidth)
            {
                ref var panel = ref panels[p * Inner];
                for (var r = tile; r < fourRowsEnd; r += 4)
                    FourRows(ref Unsafe.Add(ref xr, r * Inner), ref panel, ref Unsafe.Add(ref yr, r * Outer + p));
            }
            // A row alone goes against four panels at a time: with one panel its two accumulators would wait on
            // each other's multiply-add latency instead of filling the FMA units.
            for (var r = fourRowsEnd; r < tileEnd; r++)
            {
                var p = 0;
                for (; p + 4 * PanelWidth <= panelColumns; p += 4 * PanelWidth)
                    OneRowFourPanels(ref Unsafe.Add(ref xr, r * Inner), ref panels[p * Inner], ref Unsafe.Add(ref yr, r * Outer + p));
                for (; p < panelColumns; p += PanelWidth)
                    OneRow(ref Unsafe.Add(ref xr, r * Inner), ref panels[p * Inner], ref Unsafe.Add(ref yr, r * Outer + p));
            }
            for (var r = tile; r < tileEnd; r++)
            {
                for (var o = panelColumns; o < Outer; o++)
                {
                    var sum = Unsafe.Add(ref yr, r * Outer + o);
                    var column = tail.AsSpan((o - panelColumns) * Inner, Inner);
                    for (var k = 0; k < Inner; k++)
                        sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref xr, r * Inner + k), column[k], sum);
                    Unsafe.Add(ref yr, r * Outer + o) = sum;
                }
            }
        }
    }

    // y's four rows (two vectors each, at a stride of Outer) += four rows of x (stride Inner) · one panel.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FourRows(ref float x, ref float panel, ref float y)
    {
        var lanes = (nuint)Vector<float>.Count;
        var (inner, outer) = ((nuint)Inner, (nuint)Outer);
        var a00 = Vector.LoadUnsafe(ref y); var a01 = Vector.LoadUnsafe(ref y, lanes);
        var a10 = Vector.LoadUnsafe(ref y, outer); var a11 = Vector.LoadUnsafe(ref y, outer + lanes);
        var a20 = Vector.LoadUnsafe(ref y, 2 * outer); var a21 = Vector.LoadUnsafe(ref y, 2 * outer + lanes);
        var a30 = Vector.LoadUnsafe(ref y, 3 * outer); var a31 = Vector.LoadUnsafe(ref y, 3 * outer + lanes);
        ref var w = ref panel;
        for (nuint k = 0; k < inner; k++)
        {
            var w0 = Vector.LoadUnsafe(ref w);
            var w1 = Vector.LoadUnsafe(ref w, lanes);
            w = ref Unsafe.Add(ref w, 2 * lanes);
            var b = new Vector<float>(Unsafe.Add(ref x, k));
            a00 = Vector.FusedMultiplyAdd(w0, b, a00); a01 = Vector.FusedMultiplyAdd(w1, b, a01);
            b = new Vector<float>(Unsafe.Add(ref x, inner + k));
            a10 = Vector.FusedMultiplyAdd(w0, b, a10); a11 = Vector.FusedMultiplyAdd(w1, b, a11);
            b = new Vector<float>(Unsafe.Add(ref x, 2 * inner + k));
            a20 = Vector.FusedMultiplyAdd(w0, b, a20); a21 = Vector.FusedMultiplyAdd(w1, b, a21);
            b = new Vector<float>(Unsafe.Add(ref x, 3 * inner + k));
            a30 = Vector.FusedMultiplyAdd(w0, b, a30); a31 = Vector.FusedMultiplyAdd(w1, b, a31);
        }
        a00.StoreUnsafe(ref y); a01.StoreUnsafe(ref y, lanes);
        a10.StoreUnsafe(ref y, outer); a11.StoreUnsafe(ref y, outer + lanes);
        a20.StoreUnsafe(ref y, 2 * outer); a21.StoreUnsafe(ref y, 2 * outer + lanes);
        a30.StoreUnsafe(ref y, 3 * outer); a31.StoreUnsafe(ref y, 3 * outer + lanes);
    }

    // y's eight vectors += one row of x · four consecutive panels.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void OneRowFourPanels(ref float x, ref float panel, ref float y)
    {
        var lanes = (nuint)Vector<float>.Count;
        var next = (nuint)(Inner * PanelWidth);
        var a0 = Vector.LoadUnsafe(ref y); var a1 = Vector.LoadUnsafe(ref y, lanes);
        var a2 = Vector.LoadUnsafe(ref y, 2 * lanes); var a3 = Vector.LoadUnsafe(ref y, 3 * lanes);
        var a4 = Vector.LoadUnsafe(ref y, 4 * lanes); var a5 = Vector.LoadUnsafe(ref y, 5 * lanes);
        var a6 = Vector.LoadUnsafe(ref y, 6 * lanes); var a7 = Vector.LoadUnsafe(ref y, 7 * lanes);
        ref var w = ref panel;
        for (nuint k = 0; k < (nuint)Inner; k++)
        {
            var b = new Vector<float>(Unsafe.Add(ref x, k));
            a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w), b, a0);
            a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, lanes), b, a1);
            a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, next), b, a2);
            a3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, next + lanes), b, a3);
            a4 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, 2 * next), b, a4);
            a5 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, 2 * next + lanes), b, a5);
            a6 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, 3 * next), b, a6);
            a7 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, 3 * next + lanes), b, a7);
            w = ref Unsafe.Add(ref w, 2 * lanes);
        }
        a0.StoreUnsafe(ref y); a1.StoreUnsafe(ref y, lanes);
        a2.StoreUnsafe(ref y, 2 * lanes); a3.StoreUnsafe(ref y, 3 * lanes);
        a4.StoreUnsafe(ref y, 4 * lanes); a5.StoreUnsafe(ref y, 5 * lanes);
        a6.StoreUnsafe(ref y, 6 * lanes); a7.StoreUnsafe(ref y, 7 * lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void OneRow(ref float x, ref float panel, ref float y)
    {
        var lanes = (nuint)Vector<float>.Count;
        var a0 = Vector.LoadUnsafe(ref y);
        var a1 = Vector.LoadUnsafe(ref y, lanes);
        ref var w = ref panel;
        for (nuint k = 0; k < (nuint)Inner; k++)
        {
            var b = new Vector<float>(Unsafe.Add(ref x, k));
            a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w), b, a0);
            a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref w, lanes), b, a1);
            w = ref Unsafe.Add(ref w, 2 * lanes);
        }
        a0.StoreUnsafe(ref y);
        a1.StoreUnsafe(ref y, lanes);
    }
}
