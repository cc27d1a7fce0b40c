using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// "The last group to finish goes on": each of <c>arrivals</c> groups publishes its writes (device fence), counts itself
/// on a counter in device memory, and only the group that brings the count to <c>arrivals</c> continues, resetting the
/// counter to 0 for the next run (a kernel or a graph replay needs no reset); it fences again before it reads what the
/// others wrote. The pattern of gpu.tensor-core-wide-split (partial sums of a split reduction), the tensor-core dense
/// pair and the GEMV pair (the scores tail after the bits of a row tile or sample). Unlike <see cref="GpuGridBarrier"/>
/// nobody waits, so it needs no residency bound on the grid.
/// </summary>
public static class GpuLastGroup
{
    /// <summary>Every thread of the group calls it; true (for all of them, uniform: barriers after it see every thread or
    /// none) in the last of <paramref name="arrivals"/> groups counting on <paramref name="counters"/>[<paramref name="index"/>].
    /// That group must then call <see cref="MemoryFence.DeviceLevel"/> before it reads the others' results (kept at the
    /// call site: as an early return inside this method ILGPU left a predicate and two branches in the kernels' PTX).
    /// <paramref name="flag"/>: one int of shared memory that hands thread 0's answer to the group.</summary>
    public static bool Arrives(ArrayView<int> counters, long index, int arrivals, ArrayView<int> flag)
    {
        MemoryFence.DeviceLevel(); // this thread's results are in before the group counts itself done
        Group.Barrier();
        if (Group.IdxX == 0)
        {
            int before = Atomic.Add(ref counters[index], 1);
            flag[0] = before == arrivals - 1 ? 1 : 0;
            if (before == arrivals - 1) Atomic.Exchange(ref counters[index], 0); // the next run counts from 0 again
        }
        Group.Barrier();
        return flag[0] != 0;
    }
}
