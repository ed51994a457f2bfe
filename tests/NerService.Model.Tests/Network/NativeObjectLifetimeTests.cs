using System.Diagnostics.Tracing;
using NerService.Model.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace NerService.Model.Tests.Network;

// Alone: other tests' temporary Scalars and tensors would reach the finalizer during the count.
[CollectionDefinition(nameof(NativeObjectLifetime), DisableParallelization = true)]
public sealed class NativeObjectLifetime;

/// <summary>
/// A temporary Scalar that TorchSharp makes for a number can be finalized while libtorch still reads it (why, in
/// <see cref="TaggerNetwork"/>'s comment on its <c>One</c>). Forcing that is a matter of luck (a few in 100,000
/// operations with collections forced without pause), so these tests check the cause instead: the runtime reports
/// each object it finalizes, and no Scalar and no tensor of a prediction may be among them.
/// </summary>
[Collection(nameof(NativeObjectLifetime))]
public class NativeObjectLifetimeTests
{
    [Fact]
    public void AnOperationGivenAPlainNumberLeavesItsScalarToTheFinalizer()
    {
        // The count can see the hazard: TorchSharp's own `+` leaves one Scalar a call.
        using var a = ones(3);
        var finalized = FinalizedDuring<Scalar>(() =>
        {
            for (var i = 0; i < 10; i++)
            {
                using var scope = NewDisposeScope();
                _ = a + a;
            }
        });
        Assert.True(finalized >= 10, $"{finalized} Scalars finalized");
    }

    [Fact]
    public void PredictionLeavesNoScalarToTheFinalizer() => Assert.Equal(0, FinalizedDuringPredictions<Scalar>());

    // Every tensor of a prediction is disposed by its scope; one left to the finalizer would hold native memory
    // for an unknown time and carry the same hazard.
    [Fact]
    public void PredictionLeavesNoTensorToTheFinalizer() => Assert.Equal(0, FinalizedDuringPredictions<Tensor>());

    private static int FinalizedDuringPredictions<T>()
    {
        var (network, builder) = InferencePathTests.Network(RecurrentCell.Lstm, true, 1, 3);
        using var batch = builder.Build(InferencePathTests.Sentences, CPU);
        using var alone = builder.Build([InferencePathTests.Sentences[0]], CPU);
        var finalized = FinalizedDuring<T>(() =>
        {
            for (var i = 0; i < 10; i++)
            {
                using var inference = inference_mode();
                using var scope = NewDisposeScope();
                // Packed (several sentences) and unpacked (one), as NerModel runs them.
                _ = network.TokenLogProbabilities(batch).data<float>().ToArray();
                _ = network.TokenLogProbabilities(alone).data<float>().ToArray();
            }
        });
        // The network's own tensors must not be counted: it lives until the count is over.
        GC.KeepAlive(network);
        return finalized;
    }

    private static int FinalizedDuring<T>(Action work)
    {
        using var listener = new FinalizedObjectCounter(typeof(T));
        // Whatever earlier tests left behind is finalized (and reported) before counting starts.
        Settle();
        listener.Reset();
        work();
        Settle();
        return listener.Count;
    }

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        // The runtime's events reach a listener in process from a buffer, a little later.
        Thread.Sleep(TimeSpan.FromSeconds(1.5));
    }

    /// <summary>Counts the runtime's FinalizeObject events (GC keyword, verbose) for objects of one type.</summary>
    private sealed class FinalizedObjectCounter(Type type) : EventListener
    {
        private readonly ulong counted = (ulong)type.TypeHandle.Value;
        private int count;

        public int Count => Volatile.Read(ref count);

        public void Reset() => Interlocked.Exchange(ref count, 0);

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName != "FinalizeObject" || e.Payload is null || e.PayloadNames is null)
                return;
            var finalized = e.Payload[e.PayloadNames.IndexOf("TypeID")] switch
            {
                ulong value => value,
                IntPtr value => (ulong)value,
                long value => (ulong)value,
                _ => 0UL,
            };
            if (finalized == counted)
                Interlocked.Increment(ref count);
        }
    }
}
