namespace HepBnn.Devices;

public enum DeviceKind { Cpu, Gpu }
