namespace HepBnn.Runtime;

/// <summary>A well-formed plan that does not fit this model or machine (model hash, block count, platform, configurations
/// that do not exist or do not apply here). Unlike a corrupt file, re-mapping fixes it (<c>hepbnn run --remap</c>).</summary>
public sealed class PlanMismatchException(string message) : HepBnnException(message);
