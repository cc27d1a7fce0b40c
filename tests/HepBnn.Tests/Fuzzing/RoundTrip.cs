namespace HepBnn.Tests.Fuzzing;

/// <summary>The round-trip property of the fuzz tests: once a reader accepted an input, writing it and reading it back
/// must succeed and give the same value. Any failure on that path (even a HepBnnException from the writer: it would mean
/// the writer refuses what the reader accepted) becomes a <see cref="RoundTripException"/>, which the fuzzer counts as a
/// failure, not as a rejected input.</summary>
internal static class RoundTrip
{
    public sealed class RoundTripException(string message, Exception? inner = null) : Exception(message, inner);

    public static void Check(string format, Action body)
    {
        try { body(); }
        catch (RoundTripException) { throw; }
        catch (Exception e) { throw new RoundTripException($"{format} round trip: the reader accepted the input but writing and re-reading failed: {e.GetType().Name}: {e.Message}", e); }
    }

    public static void Equal(string expected, string actual, string what)
    {
        if (expected != actual) throw new RoundTripException($"round trip changed the {what}: {Short(expected)} → {Short(actual)}");
    }

    public static void True(bool condition, string message)
    {
        if (!condition) throw new RoundTripException($"round trip: {message}");
    }

    static string Short(string s) => s.Length > 200 ? s[..200] + "…" : s;
}
