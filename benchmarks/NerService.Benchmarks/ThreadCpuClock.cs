using System.Runtime.InteropServices;

namespace NerService.Benchmarks;

/// <summary>
/// The calling thread's CPU time (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>). With one libtorch thread a forward pass
/// runs on its caller's thread, so tokens per CPU-second of that thread is the speed on a core of its own: a figure
/// that other processes on a shared machine do not halve the way they halve wall-clock tokens/s.
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ThreadCpuTimeId = 3;

    public static bool IsAvailable { get; } = OperatingSystem.IsLinux();

    /// <summary>Seconds of CPU this thread has used; 0 where the clock is not available.</summary>
    public static double Seconds()
    {
        if (!IsAvailable || clock_gettime(ThreadCpuTimeId, out var time) != 0)
            return 0;
        return time.Seconds + time.Nanoseconds / 1e9;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial int clock_gettime(int clockId, out TimeSpec time);
}
