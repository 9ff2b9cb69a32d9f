import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraNPU
import TesseraRuntime
import TesseraTestSupport
import Testing

/// The decode path's steps that read run-time values, on the NPU against the reference
/// evaluator: `gather` by token ids, `update_slice` at a run-time start, comparisons and
/// selection (the attention mask) and `argmax`. Each must run as an NPU program (none on the
/// host), and each result is exact: they only move, compare and pick values.
@Suite("NPU lowering of gather, update_slice, compare, select and argmax")
struct NPURunTimeIndexLoweringTests {
  /// Runs `text` with `inputs` (random where `nil`) on the npu and the reference; checks that
  /// every kernel ran on the NPU.
  private func run(_ text: String, _ given: [Int: Tensor] = [:], seed: UInt64 = 11) throws -> (Tensor, Tensor) {
    let graph = try TestSupport.parseOne(text)
    var generator = SeededRandom(seed: seed)
    let inputs = graph.argumentTypes.enumerated().map {
      given[$0.offset] ?? Tensor.random($0.element, using: &generator)
    }
    let device = npuDevice()
    let lowered = try device.programs(graph)
    let kernels = lowered.plan.steps.filter { $0.call != nil }
    #expect(kernels.allSatisfy { $0.device == "npu" }, "\(kernels.map { ($0.device, $0.fallbackReason) })")
    #expect(lowered.programs.count == kernels.count, "\(lowered.hostSteps)")
    return (try device.compile(graph).run(inputs: inputs)[0], try TestSupport.evaluate(graph, inputs)[0])
  }

  private static func ids(_ values: [Int]) -> Tensor {
    Tensor(values.map(Double.init), shape: [values.count], dtype: .i32)
  }

  @Test(
    "gather rows by run-time ids (negative ids count from the end)",
    arguments: ["f32", "f16"], [[3], [0, 9, -1, 4], [2, 2, -10]])
  func gather(dtype: String, ids: [Int]) throws {
    let n = ids.count
    let (actual, expected) = try run(
      "func @f(%t: \(dtype)[10,7], %i: i32[\(n)]) -> \(dtype)[\(n),7] {\n"
        + "  %y = gather %t, %i {axis = 0} : \(dtype)[\(n),7]\n  return %y\n}", [1: Self.ids(ids)])
    #expect(actual.doubles == expected.doubles)
  }

  /// The embedding lookup of the Llama graphs: the rows' blocks are dequantized on the way.
  @Test("gather rows of a dequantized table", arguments: ["q4_0", "q4_1", "q8_0", "q4_k"])
  func gatherDequantized(format: String) throws {
    let (actual, expected) = try run(
      """
      func @f(%w: \(format)[10,512], %i: i32[3]) -> f32[3,512] {
        %d = dequantize %w : f32[10,512]
        %y = gather %d, %i {axis = 0} : f32[3,512]
        return %y
      }
      """, [1: Self.ids([7, -1, 0])])
    #expect(actual.doubles == expected.doubles)
  }

  @Test func gatherOfAnIdOutsideTheTableTraps() throws {
    let graph = try TestSupport.parseOne(
      "func @f(%t: f32[10,7], %i: i32[1]) -> f32[1,7] {\n  %y = gather %t, %i {axis = 0} : f32[1,7]\n  return %y\n}")
    var generator = SeededRandom(seed: 3)
    let table = Tensor.random(graph.argumentTypes[0], using: &generator)
    #expect {
      _ = try npuDevice().compile(graph).run(inputs: [table, Self.ids([10])])
    } throws: { error in
      "\(error)".contains("trap 1") && "\(error)".contains("a run-time index or start is outside its tensor")
    }
  }

  private static func type(_ dims: [Int]) -> String { "f32[\(dims.map(String.init).joined(separator: ","))]" }

  /// (base shape, update shape, axis) × start; the in-place form is the KV cache's.
  @Test(
    "update_slice at a run-time start",
    arguments: [([8, 6], [1, 6], 0), ([8, 6], [3, 6], 0), ([3, 8, 2], [3, 2, 2], 1)], [0, 1, 5])
  func updateSlice(shapes: ([Int], [Int], Int), start: Int) throws {
    let (base, update, axis) = (Self.type(shapes.0), Self.type(shapes.1), shapes.2)
    let (actual, expected) = try run(
      "func @f(%c: \(base), %u: \(update), %s: i32[1]) -> \(base) {\n"
        + "  %y = update_slice %c, %u, %s {axis = \(axis)} : \(base)\n  return %y\n}", [2: Self.ids([start])])
    #expect(actual.doubles == expected.doubles)
  }

  /// The start is computed in the graph (an argument start is checked on the host before the
  /// run, `CompiledGraph`), so the NPU program's own check is what stops it.
  @Test("update_slice with a start that puts the slab outside the base traps", arguments: [-1, 6])
  func updateSliceOutside(start: Int) throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%c: f32[8,6], %u: f32[3,6], %s: i32[1]) -> f32[8,6] {
        %one = constant [1] : i32[1]
        %t = add %s, %one : i32[1]
        %y = update_slice %c, %u, %t {axis = 0} : f32[8,6]
        return %y
      }
      """)
    var generator = SeededRandom(seed: 4)
    let (base, update) = (
      Tensor.random(graph.argumentTypes[0], using: &generator), Tensor.random(graph.argumentTypes[1], using: &generator)
    )
    #expect {
      _ = try npuDevice().compile(graph).run(inputs: [base, update, Self.ids([start - 1])])
    } throws: { "\($0)".contains("trap 1") && "\($0)".contains("a run-time index or start is outside its tensor") }
  }

  @Test("compare and select: an attention mask", arguments: ["lt", "le", "gt", "ge", "eq", "ne"])
  func maskedScores(kind: String) throws {
    // i32 rows against a run-time position (as decode builds its mask), then scores where the
    // mask holds and -inf elsewhere; and a float comparison stored as bool.
    let (actual, expected) = try run(
      """
      func @f(%s: f32[3,1,9], %p: i32[1]) -> f32[3,1,9] {
        %rows = constant [0, 1, 2, 3, 4, 5, 6, 7, 8] : i32[1,9]
        %q = reshape %p {shape = [1, 1]} : i32[1,1]
        %m = compare %rows, %q {kind = \(kind)} : bool[1,9]
        %h = constant -inf : f32[]
        %y = select %m, %s, %h : f32[3,1,9]
        return %y
      }
      """, [1: Self.ids([4])])
    #expect(actual.doubles == expected.doubles)
    let (mask, expectedMask) = try run(
      "func @f(%a: f32[4,33], %b: f32[33]) -> bool[4,33] {\n"
        + "  %y = compare %a, %b {kind = \(kind)} : bool[4,33]\n  return %y\n}")
    #expect(mask.doubles == expectedMask.doubles)
  }

  /// Rows longer than a UB slot are reduced in chunks; ties and NaNs are placed across chunks.
  @Test("argmax takes the first maximum", arguments: [(3, 37), (2, 20_001), (1, 49_152)])
  func argmax(shape: (rows: Int, columns: Int)) throws {
    var generator = SeededRandom(seed: 12)
    var values = (0..<(shape.rows * shape.columns)).map { _ in Double(Int.random(in: -50...50, using: &generator)) }
    // Row 0: the maximum 99 twice, far apart (the first wins); row 1: a NaN late in the row.
    values[shape.columns / 3] = 99
    values[shape.columns - 2] = 99
    if shape.rows > 1 { values[shape.columns + shape.columns - 5] = .nan }
    let input = Tensor(values, shape: [shape.rows, shape.columns], dtype: .f32)
    let (actual, expected) = try run(
      "func @f(%x: f32[\(shape.rows),\(shape.columns)]) -> i32[\(shape.rows)] {\n"
        + "  %y = argmax %x {axis = 1} : i32[\(shape.rows)]\n  return %y\n}", [0: input])
    #expect(actual.doubles == expected.doubles)
    #expect(expected.doubles[0] == Double(shape.columns / 3))
  }

  /// (shape, positions) × mode: decode's one position over 9 heads, a prompt's several, a 2-D
  /// and a 4-D input.
  @Test(
    "rope at run-time positions",
    arguments: [
      ([1, 9, 64], [37]), ([4, 3, 16], [0, 1, 2, 3]), ([6, 64], [5, 0, 9, 2, 120, 7]), ([2, 3, 2, 16], [4, 8, 15]),
    ],
    ["", ", mode = neox"])
  func rope(case: (shape: [Int], positions: [Int]), mode: String) throws {
    let type = Self.type(`case`.shape)
    let (actual, expected) = try run(
      "func @f(%x: \(type), %p: i32[\(`case`.positions.count)]) -> \(type) {\n"
        + "  %y = rope %x, %p {theta = 10000.0\(mode)} : \(type)\n  return %y\n}", [1: Self.ids(`case`.positions)])
    // Angles in f32 (the reference's are Double): the frequency and the product each round
    // once, so an angle is off by at most |position| · 2^-23 (1.4e-5 at 120), and a rotated
    // member by (|x| + |y|) times that, |x|, |y| ≤ 1, plus the f32 rounding of the products.
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 4e-5, rtol: 2e-4) <= 1)
  }

  @Test func argmaxAlongTheFirstAxisWithKeepdims() throws {
    let (actual, expected) = try run(
      "func @f(%x: f32[6,5]) -> i32[1,5] {\n  %y = argmax %x {axis = 0, keepdims = true} : i32[1,5]\n  return %y\n}")
    #expect(actual.doubles == expected.doubles)
  }
}
