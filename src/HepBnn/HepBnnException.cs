namespace HepBnn;

/// <summary>The one exception type the library throws for bad input (model files, shapes, plans, devices).
/// The message names the problem; callers can show it to users as it is.</summary>
public class HepBnnException : Exception
{
    public HepBnnException(string message) : base(message) { }
    public HepBnnException(string message, Exception inner) : base(message, inner) { }
}
