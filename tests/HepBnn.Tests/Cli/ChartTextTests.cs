using Xunit;
using System.Diagnostics;
using HepBnn.Cli.Output;
using HepBnn.Model;
using HepBnn.Planning;
using HepBnn.Tests.Planning;
using SkiaSharp;

namespace HepBnn.Tests.Cli;

/// <summary>Issue 13: on a machine without system fonts (the GPU machine) every chart had bars but no text. Charts now
/// draw with the bundled DejaVu Sans: every font request resolves to it, and a chart rendered with the system's font
/// folder hidden still has its title.</summary>
public class ChartTextTests(ITestOutputHelper output)
{
    /// <summary>Ink of text in the title band (top 20 rows, middle half): dark/light transitions along each row. Glyphs make
    /// many; nothing, or the plot frame moved up into the band when the title is gone, makes (almost) none.</summary>
    static int TitleInk(SKBitmap image)
    {
        int ink = 0;
        for (int y = 2; y < 20; y++)
        {
            bool last = false;
            for (int x = image.Width / 4; x < image.Width * 3 / 4; x++)
            {
                var c = image.GetPixel(x, y);
                bool dark = c.Red + c.Green + c.Blue < 3 * 128;
                if (x > image.Width / 4 && dark != last) ink++;
                last = dark;
            }
        }
        return ink;
    }

    static Verdict SampleVerdict()
    {
        var model = ModelZoo.Vgg3();
        var plan = PlanTestSupport.Make(model, PlanTestSupport.RandomCpuPlan(model, new Random(1)), batch: 1);
        var row = new VerdictRow("found plan (top-1)", plan.Configurations, 50, new TimingStats(60, 55, 70, 9), 1, null);
        return new Verdict("vgg3", 1, "p", plan, [row, row with { Label = "top-2", VsPlan = 1.2 }], 50, 60, 0, 1, true, 1, 1, double.NaN, double.NaN);
    }

    [Fact]
    public void EveryFontRequestResolvesToTheBundledFace()
    {
        ChartFonts.Register();
        foreach (var name in new[] { ScottPlot.Fonts.Default, "Arial", "no-such-family-on-any-machine", "" })
            foreach (bool bold in new[] { false, true })
            {
                using var face = ScottPlot.Fonts.GetTypeface(name, bold, false);
                Assert.Equal(ChartFonts.Family, face.FamilyName);
                Assert.True(face.ContainsGlyphs("Aaµ0123456789x(),."), $"{name}: the bundled face lacks glyphs the charts use");
            }
        // the title band has ink with a title and none without: the check can fail
        var plot = Charts.PlanComparison(SampleVerdict());
        using var titled = SKBitmap.Decode(plot.GetImageBytes(1200, 300, ScottPlot.ImageFormat.Png));
        Assert.True(TitleInk(titled) > 50, $"title band has {TitleInk(titled)} dark/light transitions");
        plot.Title("");
        using var untitled = SKBitmap.Decode(plot.GetImageBytes(1200, 300, ScottPlot.ImageFormat.Png));
        Assert.True(TitleInk(untitled) < 5, $"control: an empty title still left {TitleInk(untitled)} dark/light transitions");
    }

    [Fact]
    public void ChartsKeepTheirTextWithoutSystemFonts()
    {
        // hide the system's font folder from one `hepbnn bench --plot-dir` (a private mount namespace): as on the GPU machine
        const string fonts = "/usr/share/fonts";
        Assert.SkipUnless(OperatingSystem.IsLinux() && Directory.Exists(fonts) && CanHideFonts(),
            $"cannot hide {fonts} here (needs Linux and `unshare -m`); the bundled face is checked in process by EveryFontRequestResolvesToTheBundledFace");
        string dir = Directory.CreateTempSubdirectory("hepbnn-charts-").FullName;
        string empty = Directory.CreateTempSubdirectory("hepbnn-nofonts-").FullName;
        try
        {
            string hepbnn = $"\"{Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet"}\" \"{Path.Combine(AppContext.BaseDirectory, "hepbnn.dll")}\"";
            var r = Shell($"unshare -m sh -c 'mount --bind {empty} {fonts} && ls -A {fonts} | wc -l && " +
                          $"{hepbnn} bench -m vgg3 --profile-budget-s 0.1 --measure-s 0 --plot-dir {dir} > /dev/null'");
            Assert.True(r.Code == 0, r.Output);
            Assert.StartsWith("0", r.Output.Trim()); // the font folder really was empty for the command
            foreach (var png in Directory.GetFiles(dir, "*.png"))
            {
                using var image = SKBitmap.Decode(png);
                int ink = TitleInk(image);
                output.WriteLine($"{Path.GetFileName(png)}: {ink} dark/light transitions in the title band with no system fonts");
                Assert.True(ink > 50, $"{Path.GetFileName(png)} lost its title without system fonts ({ink} dark/light transitions)");
            }
            Assert.Equal(2, Directory.GetFiles(dir, "*.png").Length);
        }
        finally { Directory.Delete(dir, true); Directory.Delete(empty, true); }
    }

    static bool CanHideFonts() => Shell("unshare -m true").Code == 0;

    static (int Code, string Output) Shell(string command)
    {
        var psi = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(120))) { p.Kill(true); return (-1, "timed out"); }
        return (p.ExitCode, o.Result + e.Result);
    }
}
