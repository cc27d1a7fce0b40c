using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace HepBnn.Tests.Fuzzing;

/// <summary>
/// A small structured mutation fuzzer for file parsers. From valid seed files it makes damaged ones (bit flips, interesting
/// bytes, truncation — at every length of the smallest seed first —, 32-bit and varint length fields set huge, duplicated,
/// deleted and spliced sections, numbers in text replaced by extreme ones), optionally re-seals them (e.g. recomputes a
/// checksum so the checks behind it are reached), and asserts for each case that the parser either succeeds or throws
/// <see cref="HepBnnException"/>, within an allocation ceiling proportional to the input size and a time limit.
/// Reproducible: the same seed files, options and <see cref="Options.Seed"/> give the same cases.
/// </summary>
public sealed class MutationFuzzer(string name, IReadOnlyList<byte[]> seeds, Action<byte[]> parse, MutationFuzzer.Options options)
{
    public sealed record Options
    {
        public int Seed { get; init; } = 12345;
        /// <summary>Applied to about <see cref="ResealFraction"/> of the mutated inputs (e.g. recompute a checksum).</summary>
        public Func<byte[], byte[]>? Reseal { get; init; }
        public double ResealFraction { get; init; } = 0.5;
        /// <summary>A format-aware mutator (edits the parsed structure and serializes it again), used for
        /// <see cref="StructuredFraction"/> of the random cases; byte-level mutations for the rest.</summary>
        public Func<byte[], Random, (byte[] Input, string How)>? Structured { get; init; }
        public double StructuredFraction { get; init; } = 0.5;
        /// <summary>Allocation ceiling per case: this many bytes per input byte, plus <see cref="AllocationSlackBytes"/>.</summary>
        public long AllocationBytesPerInputByte { get; init; } = 64;
        public long AllocationSlackBytes { get; init; } = 8 << 20;
        public TimeSpan CaseTimeLimit { get; init; } = TimeSpan.FromSeconds(5);
        /// <summary>Where failing inputs are written (for reproduction); null: not written.</summary>
        public string? FailureDirectory { get; init; }
        public int MaxFailures { get; init; } = 20;
    }

    public sealed record Report(string Name, int Seed, int Cases, int Accepted, int Rejected, IReadOnlyList<string> Failures,
        IReadOnlyList<(string Reason, int Count)> TopReasons, double MaxAllocationPerInputByte, long MaxAllocationBytes, TimeSpan Elapsed, TimeSpan SlowestCase)
    {
        public override string ToString()
        {
            var sb = new StringBuilder();
            sb.AppendLine($"fuzz {Name}: {Cases} cases (seed {Seed}) in {Elapsed.TotalSeconds:F1} s: {Accepted} parsed, {Rejected} rejected with HepBnnException, {Failures.Count} failures");
            sb.AppendLine($"  max allocation {MaxAllocationBytes / 1024.0:F0} KiB, max {MaxAllocationPerInputByte:F1} bytes allocated per input byte (inputs ≥ 4 KiB); slowest case {SlowestCase.TotalMilliseconds:F1} ms");
            foreach (var (reason, count) in TopReasons) sb.AppendLine($"  {count,8}  {reason}");
            foreach (var f in Failures) sb.AppendLine($"  FAILURE {f}");
            return sb.ToString();
        }
    }

    public Report Run(int cases)
    {
        if (seeds.Count == 0) throw new ArgumentException("no seed files");
        var rng = new Random(options.Seed);
        var failures = new List<string>();
        var reasons = new Dictionary<string, int>();
        int accepted = 0, rejected = 0, done = 0;
        double maxRatio = 0;
        long maxAlloc = 0;
        var slowest = TimeSpan.Zero;
        var total = Stopwatch.StartNew();

        void One(byte[] input, string how)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Stopwatch.GetTimestamp();
            string? failure = null;
            try
            {
                parse(input);
                accepted++;
            }
            catch (HepBnnException e)
            {
                rejected++;
                string r = Reason(e.Message);
                reasons[r] = reasons.GetValueOrDefault(r) + 1;
            }
            catch (Exception e)
            {
                failure = $"{e.GetType().Name}: {e.Message}";
            }
            var elapsed = Stopwatch.GetElapsedTime(t0);
            long alloc = GC.GetAllocatedBytesForCurrentThread() - before;
            long ceiling = options.AllocationBytesPerInputByte * input.Length + options.AllocationSlackBytes;
            if (failure is null && alloc > ceiling) failure = $"allocated {alloc} bytes for a {input.Length}-byte input (ceiling {ceiling})";
            if (failure is null && elapsed > options.CaseTimeLimit) failure = $"took {elapsed.TotalSeconds:F1} s";
            maxAlloc = Math.Max(maxAlloc, alloc);
            if (input.Length >= 4096) maxRatio = Math.Max(maxRatio, alloc / (double)input.Length);
            if (elapsed > slowest) slowest = elapsed;
            if (failure is not null && failures.Count < options.MaxFailures)
            {
                string file = Save(input, done);
                failures.Add($"case {done} ({how}, {input.Length} bytes{(file.Length > 0 ? ", saved as " + file : "")}): {failure}");
            }
            done++;
        }

        // 1. the smallest seed truncated at every length (at most half of the cases)
        var smallest = seeds.MinBy(s => s.Length)!;
        for (int n = 0; n < smallest.Length && done < cases / 2; n++) One(smallest[..n], $"truncated to {n}");
        // 2. random structured mutations
        while (done < cases)
        {
            var seed = seeds[rng.Next(seeds.Count)];
            var (input, how) = options.Structured is { } structured && rng.NextDouble() < options.StructuredFraction
                ? structured(seed, rng)
                : Mutate(seed, rng);
            if (options.Reseal is { } reseal && rng.NextDouble() < options.ResealFraction)
            {
                input = reseal(input);
                how += " + resealed";
            }
            One(input, how);
        }
        var top = reasons.OrderByDescending(kv => kv.Value).Take(12).Select(kv => (kv.Key, kv.Value)).ToList();
        return new Report(name, options.Seed, done, accepted, rejected, failures, top, maxRatio, maxAlloc, total.Elapsed, slowest);
    }

    string Save(byte[] input, int index)
    {
        if (options.FailureDirectory is null) return "";
        Directory.CreateDirectory(options.FailureDirectory);
        string path = Path.Combine(options.FailureDirectory, $"{name}-{options.Seed}-{index}.bin");
        File.WriteAllBytes(path, input);
        return path;
    }

    /// <summary>The message with numbers and quoted names blanked, so that similar rejections count together.</summary>
    static string Reason(string message)
    {
        string r = Regex.Replace(message, "'[^']*'", "'…'");
        r = Regex.Replace(r, "[0-9a-f]{32,}", "HASH");
        r = Regex.Replace(r, @"-?\d+(\.\d+)?(E[+-]?\d+)?", "N");
        return r.Length <= 90 ? r : r[..90] + "…";
    }

    static readonly byte[] Interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x22, 0x7b, 0x5b];
    static readonly string[] ExtremeNumbers = ["0", "-1", "1", "99999999999999999999", "4294967296", "-9223372036854775808", "1e308", "2147483647", "65"];

    static (byte[] Input, string How) Mutate(byte[] seed, Random r)
    {
        var data = seed.ToArray();
        var how = new List<string>();
        int steps = 1 + (r.Next(4) == 0 ? r.Next(1, 3) : 0);
        for (int s = 0; s < steps; s++)
        {
            if (data.Length == 0) break;
            switch (r.Next(10))
            {
                case 0:
                {
                    int flips = r.Next(1, 9);
                    for (int i = 0; i < flips; i++) data[r.Next(data.Length)] ^= (byte)(1 << r.Next(8));
                    how.Add($"{flips} bit flips");
                    break;
                }
                case 1:
                {
                    int at = r.Next(data.Length);
                    data[at] = Interesting[r.Next(Interesting.Length)];
                    how.Add($"byte {at} set");
                    break;
                }
                case 2:
                {
                    int n = r.Next(data.Length);
                    data = data[..n];
                    how.Add($"truncated to {n}");
                    break;
                }
                case 3 when data.Length >= 4:
                {
                    int at = r.Next(data.Length - 3);
                    uint v = r.Next(4) switch { 0 => uint.MaxValue, 1 => int.MaxValue, 2 => 0x80000000, _ => (uint)r.Next() | 0x10000000 };
                    BitConverter.TryWriteBytes(data.AsSpan(at), v);
                    how.Add($"uint32 at {at} = {v}");
                    break;
                }
                case 4:
                {
                    // a huge protobuf varint (e.g. a length field): 0xFF… 0x01
                    int at = r.Next(data.Length);
                    byte[] varint = r.Next(2) == 0 ? [0xff, 0xff, 0xff, 0xff, 0x0f] : [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
                    data = [.. data[..at], .. varint, .. data[Math.Min(data.Length, at + varint.Length)..]];
                    how.Add($"huge varint at {at}");
                    break;
                }
                case 5:
                {
                    int a = r.Next(data.Length), len = r.Next(1, Math.Min(data.Length - a, 4096) + 1), at = r.Next(data.Length + 1);
                    data = [.. data[..at], .. data.AsSpan(a, len), .. data[at..]];
                    how.Add($"duplicated [{a},+{len}) at {at}");
                    break;
                }
                case 6:
                {
                    int a = r.Next(data.Length), len = r.Next(1, Math.Min(data.Length - a, 256) + 1);
                    data = [.. data[..a], .. data[(a + len)..]];
                    how.Add($"deleted [{a},+{len})");
                    break;
                }
                case 7:
                {
                    // a number in text (JSON header) replaced by an extreme one
                    var text = Encoding.Latin1.GetString(data);
                    var numbers = Regex.Matches(text, @"-?\d+");
                    if (numbers.Count == 0) goto case 0;
                    var m = numbers[r.Next(numbers.Count)];
                    string v = ExtremeNumbers[r.Next(ExtremeNumbers.Length)];
                    data = [.. data[..m.Index], .. Encoding.ASCII.GetBytes(v), .. data[(m.Index + m.Length)..]];
                    how.Add($"number at {m.Index} = {v}");
                    break;
                }
                case 8:
                {
                    // swap two ranges of equal length (reorders sections)
                    int len = r.Next(1, Math.Max(2, data.Length / 8)), a = r.Next(Math.Max(1, data.Length - len)), b = r.Next(Math.Max(1, data.Length - len));
                    if (a + len > data.Length || b + len > data.Length) goto case 0;
                    var tmp = data.AsSpan(a, len).ToArray();
                    data.AsSpan(b, len).CopyTo(data.AsSpan(a, len));
                    tmp.CopyTo(data.AsSpan(b, len));
                    how.Add($"swapped [{a},+{len}) and [{b},+{len})");
                    break;
                }
                default:
                {
                    int at = r.Next(data.Length);
                    data[at] = (byte)r.Next(256);
                    how.Add($"random byte at {at}");
                    break;
                }
            }
        }
        return (data, string.Join(", ", how));
    }
}
