using System.Security.Cryptography;
using System.Text;
using HepBnn.Devices;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Runtime;

namespace HepBnn.Sessions;

/// <summary>
/// Plans made by <c>InferenceSession.Create</c> with <see cref="SessionMapping.Auto"/>, kept in the user's cache folder and
/// keyed by model hash, platform fingerprint, batch and device set, so a model is profiled once per machine and batch.
/// A damaged or mismatching entry is never fatal: it is reported in a note and the model is profiled again.
/// </summary>
public sealed class PlanCache(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>$HEPBNN_CACHE_DIR, else $XDG_CACHE_HOME/hepbnn, else ~/.cache/hepbnn (Unix) or %LOCALAPPDATA%\hepbnn (Windows).</summary>
    public static string DefaultDirectory()
    {
        if (Environment.GetEnvironmentVariable("HEPBNN_CACHE_DIR") is { Length: > 0 } own) return own;
        if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg) return Path.Combine(xdg, "hepbnn");
        if (!OperatingSystem.IsWindows() && Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home)
            return Path.Combine(home, ".cache", "hepbnn");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "hepbnn");
    }

    /// <summary>The file a plan for this key lives in: readable prefix (model hash, batch, devices) + a hash of the platform.</summary>
    public string PathFor(CompiledModel model, int batch, string devices, string platform)
    {
        string machine = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(platform)))[..12];
        return Path.Combine(Directory, $"{model.Hash[..16]}-b{batch}-{devices}-{machine}.plan.json");
    }

    /// <summary>The cached plan for this key, or null (absent, or damaged / not fitting: then <paramref name="note"/> says why).</summary>
    public Plan? TryLoad(CompiledModel model, int batch, string devices, out string? note)
    {
        note = null;
        string path = PathFor(model, batch, devices, PlatformInfo.CurrentFingerprint);
        if (!File.Exists(path)) return null;
        try
        {
            var plan = PlanFile.Load(path, model);
            if (plan.Batch == batch) return plan;
            note = $"cached plan '{path}' is for batch {plan.Batch}, not {batch}: profiled again";
        }
        catch (HepBnnException e)
        {
            note = $"cached plan '{path}' could not be used ({e.Message}): profiled again";
        }
        return null;
    }

    /// <summary>Stores <paramref name="plan"/> (write to a temporary file, then rename: a crash never leaves half a plan).
    /// Returns the path, or null with <paramref name="note"/> when the cache cannot be written (the session still runs).</summary>
    public string? Store(CompiledModel model, int batch, string devices, Plan plan, out string? note)
    {
        note = null;
        string path = PathFor(model, batch, devices, plan.Platform);
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            string temp = $"{path}.{Environment.ProcessId}.tmp";
            PlanFile.Save(plan, temp);
            File.Move(temp, path, overwrite: true);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HepBnnException)
        {
            note = $"plan cache '{Directory}' not writable ({e.Message}): the plan is not cached";
            return null;
        }
    }
}
