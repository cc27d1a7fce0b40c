using HepBnn.Model;
using HepBnn.Runtime;

namespace HepBnn.Reference;

/// <summary>How many images a session scores exactly as the reference implementation (all raw integer class scores equal).</summary>
public static class ReferenceAgreement
{
    public static (int Agree, int Total) Check(InferenceSession session, byte[] images, int count)
    {
        var model = session.Model;
        int size = (int)model.InputShape.Elements;
        if (images.Length < count * size) throw new HepBnnException($"{count} images need {count * size} bytes, got {images.Length}");
        int agree = 0;
        var raw = new int[session.MaxBatch * session.ScoresPerImage];
        for (int start = 0; start < count; start += session.MaxBatch)
        {
            int n = Math.Min(session.MaxBatch, count - start);
            session.Run(images.AsSpan(start * size, n * size), n, raw);
            for (int i = 0; i < n; i++)
            {
                var expected = ReferenceEngine.RawScores(model, images.AsSpan((start + i) * size, size));
                bool same = true;
                for (int k = 0; k < expected.Length; k++) same &= expected[k] == raw[i * session.ScoresPerImage + k];
                if (same) agree++;
            }
        }
        return (agree, count);
    }
}
