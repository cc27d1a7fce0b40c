using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;
namespace HepBnn.Tests.Planning;

/// <summary>Whatever the mapping, the result is the same: random mixed CPU plans run through InferenceSession(model, plan)
/// give identical integer scores, equal to the reference.</summary>
public class PlanSessionTests
{
    [Fact]
    public void RandomMixedCpuPlansAreBitIdenticalToReference()
    {
        for (int seed = 200; seed < 215; seed++)
        {
            var model = RandomNetworks.Generate(seed);
            var r = new Random(seed);
            int batch = 1 + seed % 3;
            var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
            int size = (int)model.InputShape.Elements;
            var expected = Enumerable.Range(0, batch).SelectMany(n => ReferenceEngine.RawScores(model, images.AsSpan(n * size, size))).ToArray();
            for (int p = 0; p < 4; p++)
            {
                var configs = PlanTestSupport.RandomCpuPlan(model, r);
                using var session = new InferenceSession(model, PlanTestSupport.Make(model, configs, batch));
                Assert.Equal(batch, session.MaxBatch);
                var raw = new int[batch * session.ScoresPerImage];
                session.Run(images, batch, raw);
                for (int i = 0; i < raw.Length; i++)
                    Assert.True(expected[i] == raw[i], $"seed {seed}, plan [{string.Join(", ", configs)}]: score {i} expected {expected[i]} got {raw[i]}");
            }
        }
    }

    [Fact]
    public void SessionRefusesAPlanForAnotherModel()
    {
        var plan = PlanTestSupport.Make(ModelZoo.Vgg3(1), ["cpu.scalar", "cpu.scalar", "cpu.scalar", "cpu.scalar"]);
        var e = Assert.Throws<PlanMismatchException>(() => new InferenceSession(ModelZoo.Vgg3(2), plan));
        Assert.Contains("another model", e.Message);
    }
}
