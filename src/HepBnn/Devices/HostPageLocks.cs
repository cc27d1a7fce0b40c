using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace HepBnn.Devices;

/// <summary>
/// Page-locks host arrays (already pinned on the pinned object heap) with the GPU driver once and keeps a view of each,
/// so that copies are true asynchronous DMA with no per-call pinning or allocation. Holds the most recently used
/// <see cref="Capacity"/> arrays; registering more releases the least recently used one that is not held (see
/// <see cref="Hold"/>: CUDA graphs bake host addresses in, so their buffers must stay locked). An array the driver refuses
/// (e.g. locked-memory limits) is remembered as pageable and copied the ordinary way.
/// </summary>
public sealed class HostPageLocks : IDisposable
{
    public const int Capacity = 64;

    sealed class Entry(ulong[] array, PageLockScope<ulong>? scope, MemoryBuffer? view)
    {
        public ulong[] Array { get; } = array;
        public PageLockScope<ulong>? Scope { get; } = scope;
        public MemoryBuffer? View { get; } = view;
        public LinkedListNode<Entry>? Node { get; set; }
        public int Holds { get; set; }
    }

    readonly GpuDevice _gpu;
    readonly Dictionary<ulong[], Entry> _entries = new(ReferenceEqualityComparer.Instance);
    readonly LinkedList<Entry> _recent = new();

    internal HostPageLocks(GpuDevice gpu) => _gpu = gpu;

    /// <summary>Number of arrays the driver refused to page-lock (copied as pageable memory instead).</summary>
    public int Refused { get; private set; }

    /// <summary>A device-visible view of the page-locked <paramref name="pinned"/> array, or null if it stays pageable.</summary>
    public ArrayView<ulong>? ViewOf(ulong[] pinned)
    {
        if (!_entries.TryGetValue(pinned, out var e))
        {
            if (_entries.Count >= Capacity && LeastRecentUnheld() is { } old) Evict(old);
            e = Register(pinned);
            _entries[pinned] = e;
            e.Node = _recent.AddFirst(e);
        }
        else if (e.Node != _recent.First)
        {
            _recent.Remove(e.Node!);
            _recent.AddFirst(e.Node!);
        }
        return e.View?.AsArrayView<ulong>(0, pinned.LongLength);
    }

    /// <summary>Locks <paramref name="pinned"/> (if not yet) and keeps it locked until as many <see cref="Unhold"/> calls:
    /// for buffers that a captured CUDA graph copies from or into. True when the array is page-locked.</summary>
    public bool Hold(ulong[] pinned)
    {
        bool locked = ViewOf(pinned) is not null;
        _entries[pinned].Holds++;
        return locked;
    }

    public void Unhold(ulong[] pinned)
    {
        if (_entries.TryGetValue(pinned, out var e) && e.Holds > 0) e.Holds--;
    }

    /// <summary>Whether <paramref name="pinned"/> currently has a registration (locked or remembered as refused).</summary>
    internal bool IsRegistered(ulong[] pinned) => _entries.ContainsKey(pinned);

    Entry? LeastRecentUnheld()
    {
        for (var node = _recent.Last; node is not null; node = node.Previous)
            if (node.Value.Holds == 0) return node.Value;
        return null;
    }

    unsafe Entry Register(ulong[] pinned)
    {
        PageLockScope<ulong>? scope = null;
        try
        {
            scope = _gpu.Accelerator.CreatePageLockFromPinned(pinned);
            var ptr = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
            var view = CPUMemoryBuffer.Create(_gpu.Accelerator, ptr, pinned.LongLength, sizeof(ulong));
            return new Entry(pinned, scope, view);
        }
        catch (Exception)
        {
            scope?.Dispose();
            Refused++;
            return new Entry(pinned, null, null);
        }
    }

    void Evict(Entry e)
    {
        _gpu.Stream.Synchronize(); // no copy may still be reading the pages we unlock
        _recent.Remove(e.Node!);
        _entries.Remove(e.Array);
        Release(e);
    }

    static void Release(Entry e)
    {
        e.View?.Dispose();
        e.Scope?.Dispose();
    }

    public void Dispose()
    {
        foreach (var e in _entries.Values) Release(e);
        _entries.Clear();
        _recent.Clear();
    }
}
