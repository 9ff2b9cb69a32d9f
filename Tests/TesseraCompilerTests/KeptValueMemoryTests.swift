import TesseraCompiler
import TesseraIR
import TesseraTestSupport
import Testing

/// The arena when a runner keeps some step results in memory of their own.
@Suite("Memory plans with kept values")
struct KeptValueMemoryTests {
  @Test func keptRootsLeaveTheArenaAndAreNeverOverwritten() throws {
    // %w1 and %w2 are weights dequantised in their own steps; each matmul's result dies at the
    // next elementwise step, which may then be computed in place over it.
    let plan = try GraphCompiler.compile(
      try TestSupport.parseOne(
        """
        func @f(%x: f32[4,32], %w1: q8_0[32,32], %w2: q8_0[32,32]) -> f32[4,32] {
          %d1 = dequantize %w1 : f32[32,32]
          %h = matmul %x, %d1 : f32[4,32]
          %d2 = dequantize %w2 : f32[32,32]
          %y = matmul %h, %d2 : f32[4,32]
          %z = tanh %y : f32[4,32]
          return %z
        }
        """), target: .everything("kir"))
    let roots = Set(
      plan.steps.map(\.group.root).filter { plan.graph[$0].name == "d1" || plan.graph[$0].name == "d2" })
    #expect(roots.count == 2)
    let kept = plan.memory(keepingElsewhere: roots)
    for root in roots {
      #expect(kept.homes[root] == nil, "a kept value has no arena home")
      #expect(!kept.inPlace.values.contains(root), "nothing is computed over a kept value")
    }
    // A dequantised weight is 4 KiB, an activation 512 B: with the weights the arena holds one
    // weight at least; without them, at most the three activations.
    #expect(plan.memory.arenaBytes >= 32 * 32 * 4)
    #expect(kept.arenaBytes <= 3 * 4 * 32 * 4)
    #expect(kept.homes.filter { if case .arena = $0.value { true } else { false } }.count > 0)
  }
}
