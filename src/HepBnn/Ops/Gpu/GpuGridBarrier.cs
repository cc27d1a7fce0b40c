using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// A grid-wide barrier in software (ILGPU 1.5.3 has no cooperative launch or grid sync): two ints in device memory,
/// [0] the groups arrived at the current barrier and [1] a generation number. A group's first thread knows the
/// generation (read once per launch), publishes the group's writes with a device-level fence, then arrives; the last
/// arriver resets the count and bumps the generation, the others spin until it changes. The pattern of CUDA's cooperative-groups grid.sync:
/// <c>bar.sync</c> orders the group's threads before thread 0's device fence, the fence after the wait orders the reads
/// that follow. The count is back at 0 after every barrier, so a kernel (or a graph replay) needs no reset.
/// <para>It cannot deadlock only if every group of the grid is resident at once: the launcher caps the grid at
/// multiprocessors × the kernel's occupancy (groups that fit on one multiprocessor at a time), so no group waits for a
/// slot that a spinning group holds. Other work on the GPU can delay groups but never depends on them.</para>
/// </summary>
public static class GpuGridBarrier
{
    /// <summary>The generation number before the kernel's first barrier (group thread 0 calls it; no barrier can complete
    /// before every group has arrived, so any time before this group's first <see cref="Sync"/> is early enough).</summary>
    public static int Generation(ArrayView<int> barrier) => Atomic.Add(ref barrier[1], 0);

    /// <summary>Every thread of every group of the grid must call it, the same number of times. Thread 0 of each group
    /// keeps <paramref name="generation"/> (from <see cref="Generation"/>, then updated here): the generation only moves
    /// when all groups have arrived, so the value a group saw leave the last barrier is the one the next barrier starts
    /// from, and arriving costs no read of it (one L2 round trip less per barrier than reading it first).</summary>
    public static void Sync(ArrayView<int> barrier, int groups, ref int generation)
    {
        Group.Barrier();
        if (Group.IdxX == 0)
        {
            MemoryFence.DeviceLevel();
            if (Atomic.Add(ref barrier[0], 1) == groups - 1)
            {
                Atomic.Exchange(ref barrier[0], 0);
                MemoryFence.DeviceLevel();
                Atomic.Add(ref barrier[1], 1);
            }
            else
            {
                while (Atomic.Add(ref barrier[1], 0) == generation) { }
            }
            generation++;
            MemoryFence.DeviceLevel();
        }
        Group.Barrier();
    }
}
