// Why this exists (the one place it is explained):
//
// TorchSharp 0.107.0's libLibTorchSharp.so was linked with GCC 13+, so its .gnu.version_r section asks for
// GLIBCXX_3.4.32, needed only for the symbol _ZSt21ios_base_library_initv. That symbol is a link-time marker:
// no relocation in the library refers to it, so nothing ever calls it. Debian 12's libstdc++ stops at
// GLIBCXX_3.4.30, so the dynamic loader refuses the library and the first use of `torch` throws
// TypeInitializationException ("Failed to load native component ... libLibTorchSharp.so").
//
// The loader skips version needs marked weak (VER_FLG_WEAK, 0x2, in the Elf64_Vernaux flags). This build
// step sets that flag on the one GLIBCXX_3.4.32 need of the copy in the build or publish output, and only
// when the machine's libstdc++ lacks GLIBCXX_3.4.32; on newer systems (Debian 13, Ubuntu 24.04) the file
// stays byte-for-byte as shipped. The NuGet cache is never modified. Clearing the symbol's version alone is
// not enough: the loader checks every non-weak version need. Borrowing Debian 13's libstdc++ does not work
// either (it needs glibc 2.38; Debian 12 has 2.36).
//
// TorchNativeLoadTests in tests/NerService.Model.Tests fails when the native library cannot load.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class TorchSharpNativeFix : Task
{
    private const string MissingVersion = "GLIBCXX_3.4.32";
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Required]
    public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        if (Libraries.Length == 0 || SystemLibStdCxxHasVersion())
            return true;

        foreach (var item in Libraries)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var changed = MarkVersionNeedWeak(path);
                if (changed)
                    Log.LogMessage(MessageImportance.High, $"TorchSharpNativeFix: marked {MissingVersion} weak in {path} (see build/TorchSharpNativeFix.cs)");
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Log.LogError($"TorchSharpNativeFix: could not patch {path}: {ex.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static bool SystemLibStdCxxHasVersion()
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        var needle = Encoding.ASCII.GetBytes(MissingVersion + "\0");
        var sawLibrary = false;
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate))
                continue;
            sawLibrary = true;
            if (IndexOf(File.ReadAllBytes(candidate), needle) >= 0)
                return true;
        }
        // No libstdc++ where Linux keeps it: not a glibc system we know, so leave the library alone.
        return !sawLibrary;
    }

    /// <summary>Returns true when the file was changed; false when it had no strong need to weaken.</summary>
    public static bool MarkVersionNeedWeak(string path)
    {
        var elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a little-endian 64-bit ELF file");

        var sectionTable = (long)BitConverter.ToUInt64(elf, 0x28);
        int sectionSize = BitConverter.ToUInt16(elf, 0x3A);
        int sectionCount = BitConverter.ToUInt16(elf, 0x3C);
        var changed = false;
        for (var i = 0; i < sectionCount; i++)
        {
            var header = sectionTable + (long)i * sectionSize;
            if (BitConverter.ToUInt32(elf, (int)header + 4) != ShtGnuVerneed)
                continue;
            var offset = (long)BitConverter.ToUInt64(elf, (int)header + 24);
            var stringSectionIndex = BitConverter.ToUInt32(elf, (int)header + 40);
            var needCount = BitConverter.ToUInt32(elf, (int)header + 44);
            var stringsHeader = sectionTable + stringSectionIndex * sectionSize;
            var strings = (long)BitConverter.ToUInt64(elf, (int)stringsHeader + 24);

            var need = offset;
            for (var n = 0; n < needCount; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, (int)need + 2);
                var aux = need + BitConverter.ToUInt32(elf, (int)need + 8);
                for (var a = 0; a < auxCount; a++)
                {
                    var name = ReadCString(elf, strings + BitConverter.ToUInt32(elf, (int)aux + 8));
                    var flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                    if (name == MissingVersion && (flags & VerFlgWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, (int)aux + 4);
                        changed = true;
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                need += BitConverter.ToUInt32(elf, (int)need + 12);
            }
        }
        if (changed)
        {
            // Write to a temporary file and move it, so a running process never maps a half-written library.
            var temporary = path + ".patching";
            File.WriteAllBytes(temporary, elf);
            File.Delete(path);
            File.Move(temporary, path);
        }
        return changed;
    }

    private static string ReadCString(byte[] data, long start)
    {
        var end = start;
        while (data[end] != 0)
            end++;
        return Encoding.ASCII.GetString(data, (int)start, (int)(end - start));
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (var i = 0; i <= haystack.Length - needle.Length; i++)
        {
            var j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j])
                j++;
            if (j == needle.Length)
                return i;
        }
        return -1;
    }
}
