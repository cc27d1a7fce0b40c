using System.Reflection;
using ScottPlot;
using SkiaSharp;

namespace HepBnn.Cli.Output;

/// <summary>
/// Charts draw every text with DejaVu Sans (free Bitstream Vera licence, Fonts/LICENSE-DejaVu.txt), embedded in this
/// assembly. Why: the SkiaSharp build ScottPlot uses finds fonts only in the system's font folders, and a machine without
/// any (the GPU machine) drew charts with bars but no title, labels, ticks or legend text. With the bundled face the same
/// chart renders the same everywhere.
/// </summary>
public static class ChartFonts
{
    public const string Family = "DejaVu Sans";
    static readonly object Gate = new();
    static bool _registered;

    /// <summary>Makes the bundled face the one every chart text resolves to (idempotent, thread-safe).</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            Fonts.FontResolvers.Insert(0, new BundledResolver());
            Fonts.Default = Family;
            _registered = true;
        }
    }

    static byte[] Resource(string file)
    {
        using var s = typeof(ChartFonts).Assembly.GetManifestResourceStream($"HepBnn.Cli.Fonts.{file}")
            ?? throw new HepBnnException($"the bundled chart font {file} is missing from {typeof(ChartFonts).Assembly.GetName().Name}");
        var bytes = new byte[s.Length];
        s.ReadExactly(bytes);
        return bytes;
    }

    static readonly Lazy<SKData> Regular = new(() => SKData.CreateCopy(Resource("DejaVuSans.ttf")));
    static readonly Lazy<SKData> Bold = new(() => SKData.CreateCopy(Resource("DejaVuSans-Bold.ttf")));

    /// <summary>The bundled face for a request (bold or regular; slant is not bundled and drawn upright).</summary>
    public static SKTypeface Typeface(bool bold) => SKTypeface.FromData(bold ? Bold.Value : Regular.Value);

    /// <summary>Answers every font request, whatever family it names, with the bundled face.</summary>
    sealed class BundledResolver : IFontResolver
    {
        public SKTypeface CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
            Typeface(weight >= FontWeight.SemiBold);

        public SKTypeface CreateTypeface(string fontName, bool bold, bool italic) => Typeface(bold);
    }
}
