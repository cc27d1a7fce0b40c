namespace HepBnn.Runtime;

public enum DeviceKind { Cpu, Gpu }
