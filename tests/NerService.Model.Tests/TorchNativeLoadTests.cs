using static TorchSharp.torch;

namespace NerService.Model.Tests;

public class TorchNativeLoadTests
{
    [Fact]
    public void TheNativeTorchLibraryLoadsAndComputes()
    {
        // Throws TypeInitializationException when libLibTorchSharp.so cannot be loaded
        // (build/TorchSharpNativeFix.cs explains the Debian 12 case).
        using var sum = ones(3).sum();
        Assert.Equal(3f, sum.item<float>());
    }
}
