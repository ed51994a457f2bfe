using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace NerService.Model.Inference;

/// <summary>Picks the compute device, loading CUDA from an existing libtorch (such as a PyTorch install) when asked.</summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static string? loadedFrom;

    // The order matters: each library needs the ones before it already loaded.
    private static readonly string[] CudaLibraries = ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];

    /// <summary>
    /// Returns the device for <paramref name="device"/> (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> or <c>auto</c>).
    /// With <paramref name="libTorchDirectory"/> (for example <c>.../site-packages/torch/lib</c>), libtorch's CUDA
    /// libraries are loaded from there before TorchSharp's own native library, so a CPU build of this program can
    /// run on a GPU machine that has PyTorch.
    /// </summary>
    public static Device Resolve(string device, string? libTorchDirectory = null)
    {
        if (!string.IsNullOrWhiteSpace(libTorchDirectory))
            LoadLibTorchFrom(libTorchDirectory);
        var name = device.Trim().ToLowerInvariant();
        if (name == "cpu")
            return CPU;
        if (name == "auto")
            return cuda.is_available() ? CUDA : CPU;
        if (name.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
            {
                throw new InvalidOperationException(
                    "Device 'cuda' was asked for but CUDA is not available: this build carries the CPU libtorch, so point "
                    + "LibTorchDirectory at a CUDA libtorch (for example PyTorch's torch/lib) or build with -p:TorchBackend=cuda.");
            }
            return new Device(name);
        }
        throw new ArgumentException($"Unknown device '{device}': use cpu, cuda, cuda:N or auto.", nameof(device));
    }

    /// <summary>libtorch threads per forward pass when <paramref name="inferenceThreads"/> passes share the cores.</summary>
    public static int ThreadsPerPass(int inferenceThreads) => Math.Max(1, Environment.ProcessorCount / Math.Max(1, inferenceThreads));

    /// <summary>
    /// Sets how many CPU threads libtorch uses within one operation, for the whole process. Each thread takes the
    /// count when it first runs a parallel operation, so call this before the inference threads start work.
    /// </summary>
    public static void SetThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        set_num_threads(threads);
    }

    private static void LoadLibTorchFrom(string directory)
    {
        lock (Gate)
        {
            if (loadedFrom is not null)
            {
                if (loadedFrom != directory)
                    throw new InvalidOperationException($"libtorch is already loaded from '{loadedFrom}'.");
                return;
            }
            if (!Directory.Exists(directory))
                throw new DirectoryNotFoundException($"LibTorchDirectory '{directory}' does not exist.");
            foreach (var library in CudaLibraries)
            {
                var path = Path.Combine(directory, library);
                if (File.Exists(path))
                    NativeLibrary.Load(path);
            }
            // TorchSharp's own native library binds to the libtorch just loaded; then CUDA can be initialised.
            InitializeDeviceType(DeviceType.CUDA);
            loadedFrom = directory;
        }
    }
}
