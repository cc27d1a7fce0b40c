using HepBnn.Devices;

namespace HepBnn.Runtime;

/// <summary>
/// A session's own input and score buffers (page-locked host memory where the session runs blocks on the GPU), shaped
/// like ONNX Runtime's <c>OrtIoBinding</c>: get one with <see cref="InferenceSession.CreateIoBinding"/>, write images into
/// <see cref="Input"/>, call <see cref="InferenceSession.RunWithBinding"/>, read <see cref="RawScores"/>. A run then copies
/// nothing on the host: the GPU reads the images where the caller wrote them and writes the scores where the caller reads
/// them. The spans stay valid until the session is disposed; a run overwrites the scores of the previous one.
/// </summary>
public sealed class IoBinding
{
    readonly HostBuffer _input, _scores;

    internal IoBinding(InferenceSession session, HostBuffer input, HostBuffer scores)
    {
        Session = session;
        _input = input;
        _scores = scores;
    }

    internal InferenceSession Session { get; }

    /// <summary>Where to write <paramref name="batch"/> images (NHWC bytes, contiguous) before
    /// <see cref="InferenceSession.RunWithBinding"/>.</summary>
    public Span<byte> Input(int batch)
    {
        Check(batch);
        return _input.Bytes[..checked((int)(batch * Session.Model.InputShape.Elements))];
    }

    /// <summary>The raw integer scores [batch][classes] of the last <see cref="InferenceSession.RunWithBinding"/>
    /// (what <c>Run</c> writes into its score span).</summary>
    public ReadOnlySpan<int> RawScores(int batch)
    {
        Check(batch);
        return _scores.Ints[..(batch * Session.ScoresPerImage)];
    }

    void Check(int batch) => Session.CheckBatch(batch);
}
