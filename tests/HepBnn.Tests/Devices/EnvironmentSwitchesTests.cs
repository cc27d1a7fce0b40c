using HepBnn.Devices;

namespace HepBnn.Tests.Devices;

/// <summary>HEPBNN_* tuning variables: valid values parse (any case, trimmed), unset gives the default, and a bad value
/// gives the default plus one problem line naming the variable, which <see cref="EnvironmentSwitches.ThrowIfAny"/> turns
/// into one <see cref="HepBnnException"/> — never an exception out of a static initialiser.</summary>
public class EnvironmentSwitchesTests
{
    [Theory]
    [InlineData(null, true)]
    [InlineData("", true)]
    [InlineData(" 0 ", false)]
    [InlineData("OFF", false)]
    [InlineData("false", false)]
    [InlineData("1", true)]
    [InlineData("On", true)]
    public void OnOffValuesParse(string? raw, bool expected)
    {
        var problems = new List<string>();
        Assert.Equal(expected, EnvironmentSwitches.Read("HEPBNN_POOL_CANCEL", raw, "1/on/true or 0/off/false", EnvironmentSwitches.OnOff, true, problems));
        Assert.Empty(problems);
    }

    [Fact]
    public void BadValueFallsBackAndIsReportedByName()
    {
        var problems = new List<string>();
        Assert.False(EnvironmentSwitches.Read("HEPBNN_POOL_TRACE", "maybe", "1/on/true or 0/off/false", EnvironmentSwitches.OnOff, false, problems));
        Assert.Equal(StagingCopy.CopyMode.Auto, EnvironmentSwitches.Read("HEPBNN_STAGING_COPY", "fast", "auto, plain or streaming",
            EnvironmentSwitches.StagingCopyMode, StagingCopy.CopyMode.Auto, problems));
        var e = Assert.Throws<HepBnnException>(() => EnvironmentSwitches.ThrowIfAny(problems));
        Assert.Equal("HEPBNN_POOL_TRACE must be 1/on/true or 0/off/false (got 'maybe'); HEPBNN_STAGING_COPY must be auto, plain or streaming (got 'fast')", e.Message);
    }

    [Fact]
    public void StagingModesParse()
    {
        var problems = new List<string>();
        Assert.Equal(StagingCopy.CopyMode.Streaming, EnvironmentSwitches.Read("HEPBNN_STAGING_COPY", "Streaming", "", EnvironmentSwitches.StagingCopyMode, StagingCopy.CopyMode.Auto, problems));
        Assert.Equal(StagingCopy.CopyMode.Plain, EnvironmentSwitches.Read("HEPBNN_STAGING_COPY", "plain", "", EnvironmentSwitches.StagingCopyMode, StagingCopy.CopyMode.Auto, problems));
        Assert.Empty(problems);
        EnvironmentSwitches.ThrowIfAny(problems); // nothing to report: no exception
    }

    [Theory]
    [InlineData(null, StealPolicy.Eager, false)]
    [InlineData("eager", StealPolicy.Eager, false)]
    [InlineData("fixed", StealPolicy.Fixed, false)]
    [InlineData(" Adaptive ", StealPolicy.Adaptive, false)]
    [InlineData("1", StealPolicy.Eager, true)]
    public void StealModeParses(string? raw, StealPolicy expected, bool bad)
    {
        var problems = new List<string>();
        Assert.Equal(expected, EnvironmentSwitches.Read("HEPBNN_STEAL", raw, "eager, fixed or adaptive", EnvironmentSwitches.StealMode, StealPolicy.Eager, problems));
        Assert.Equal(bad, problems.Count == 1);
        if (bad) Assert.Contains("HEPBNN_STEAL must be eager, fixed or adaptive (got '1')", problems[0]);
    }

    [Theory]
    [InlineData(null, true, false)]
    [InlineData("sliced", true, false)]
    [InlineData(" shared ", false, false)]
    [InlineData("1", true, true)]
    public void PoolForModeParses(string? raw, bool expected, bool bad)
    {
        var problems = new List<string>();
        Assert.Equal(expected, EnvironmentSwitches.Read("HEPBNN_POOL_FOR", raw, "sliced or shared", EnvironmentSwitches.ForMode, true, problems));
        Assert.Equal(bad, problems.Count == 1);
        if (bad) Assert.Contains("HEPBNN_POOL_FOR must be sliced or shared (got '1')", problems[0]);
    }

    [Theory]
    [InlineData(null, 0, false)]
    [InlineData("20", 20, false)]
    [InlineData("1000", 1000, false)]
    [InlineData("1001", 0, true)]
    [InlineData("-1", 0, true)]
    public void PoolPureSpinParses(string? raw, int expected, bool bad)
    {
        var problems = new List<string>();
        Assert.Equal(expected, EnvironmentSwitches.Read("HEPBNN_POOL_PURE_SPIN_US", raw, "an integer from 0 to 1000", EnvironmentSwitches.ZeroTo1000, 0, problems));
        Assert.Equal(bad, problems.Count == 1);
    }

    [Theory]
    [InlineData(null, 4, false)]
    [InlineData(" 8 ", 8, false)]
    [InlineData("1", 1, false)]
    [InlineData("64", 64, false)]
    [InlineData("0", 4, true)]
    [InlineData("65", 4, true)]
    [InlineData("many", 4, true)]
    public void ImageRowsGroupsPerSmParses(string? raw, int expected, bool bad)
    {
        var problems = new List<string>();
        Assert.Equal(expected, EnvironmentSwitches.Read("HEPBNN_IMAGE_ROWS_GROUPS_PER_SM", raw, "an integer from 1 to 64", EnvironmentSwitches.GroupsPerSm, 4, problems));
        Assert.Equal(bad, problems.Count == 1);
        if (bad) Assert.Contains("HEPBNN_IMAGE_ROWS_GROUPS_PER_SM", problems[0]);
    }
}
