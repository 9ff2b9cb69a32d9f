import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

/// `matmul(x, transpose(dequantize(w)))` on a target that reads quantized weights in place (and
/// `transpose(cast(w))` of f16 and bf16 `w`): one generated kernel reads `w`'s blocks, the
/// decoded transpose is neither computed nor given arena memory, and the kernel (run on the KIR
/// interpreter) matches the reference evaluator.
@Suite("Matmuls reading quantized weights in place")
struct QuantizedMatmulPlanTests {
  private static let inPlace = TargetCapabilities.everything("kir", matmulsReadQuantizedWeights: true)

  /// `y = matmul(x, transpose(dequantize(w)))` (`cast` for f16 and bf16 `w`; plus `epilogue`, a
  /// line using `%mm` and `%r` and defining `%y`) for x `[rows…, k]` and w `[n, k]`.
  static func text(_ dtype: DType, rows: [Int], k: Int, n: Int, epilogue: String? = nil) -> String {
    func dims(_ values: [Int]) -> String { values.map(String.init).joined(separator: ",") }
    let result = "f32[\(dims(rows + [n]))]"
    let residual = epilogue == nil ? "" : ", %r: \(result)"
    return """
      func @f(%x: f32[\(dims(rows + [k]))], %w: \(dtype)[\(n),\(k)]\(residual)) -> \(result) {
        %d = \(decode(dtype)) : f32[\(n),\(k)]
        %t = transpose %d {perm = [1, 0]} : f32[\(k),\(n)]
        %\(epilogue == nil ? "y" : "mm") = matmul %x, %t : \(result)
        \(epilogue ?? "")
        return %y
      }
      """
  }

  /// The op that decodes `%w` to f32: `dequantize`, or a `cast` of 16-bit floats.
  static func decode(_ dtype: DType) -> String { dtype.isQuantized ? "dequantize %w" : "cast %w {to = f32}" }

  /// Runs every kernel of `plan` in order on the KIR interpreter and returns the graph's result.
  static func interpret(_ plan: CompiledPlan, _ inputs: [Tensor]) throws -> Tensor {
    var values: [ValueID: Tensor] = [:]
    for (argument, tensor) in zip(plan.graph.arguments, inputs) { values[argument] = tensor }
    for step in plan.steps {
      guard let call = step.call else { continue }
      let buffers = call.buffers.map { value in
        values[value] ?? Tensor(repeating: 0, shape: plan.graph.type(of: value).shape)
      }
      let outputs = try KIRInterpreter.run(call.kernel, buffers: buffers, scalars: call.scalars)
      for (value, tensor) in zip(call.buffers, outputs) where call.writes.contains(value) { values[value] = tensor }
    }
    return values[plan.graph.results[0]]!
  }

  /// x's leading dims (none: a vector), the contraction size and w's rows.
  struct Case: Sendable, CustomStringConvertible {
    var rows: [Int], k: Int, n: Int
    var description: String { "x \(rows + [k]) w [\(n), \(k)]" }
  }

  /// Odd outputs (7, 130: a partial last workgroup), a row tail (5 rows, 4 per workgroup), a
  /// batch, one output, a vector x.
  static let cases = [
    Case(rows: [1], k: 96, n: 7), Case(rows: [5], k: 576, n: 130), Case(rows: [2, 3], k: 32, n: 1),
    Case(rows: [], k: 64, n: 9),
  ]

  /// The value of the graph's transpose node.
  static func transposed(_ plan: CompiledPlan) -> ValueID {
    plan.graph.nodes.first { $0.kind == .transpose }!.result
  }

  @Test("one kernel reads w; results match the reference", arguments: [DType.q4_0, .q4_1, .q8_0, .f16, .bf16], cases)
  func matchesTheReference(dtype: DType, shape: Case) throws {
    let graph = try TestSupport.parseOne(Self.text(dtype, rows: shape.rows, k: shape.k, n: shape.n))
    let plan = try GraphCompiler.compile(graph, target: Self.inPlace)
    let w = plan.graph.arguments[1]
    #expect(plan.steps.count == 1)
    #expect(plan.steps[0].call?.reads.contains(w) == true)
    #expect(plan.memory.homes[Self.transposed(plan)] == nil)
    var generator = SeededRandom(seed: 17)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try Self.interpret(plan, inputs)
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 2e-4, rtol: 2e-4) <= 1)
  }

  @Test("an epilogue stays in the kernel", arguments: [DType.q4_1, .q8_0])
  func epilogue(dtype: DType) throws {
    let graph = try TestSupport.parseOne(
      Self.text(dtype, rows: [3], k: 64, n: 10, epilogue: "%y = add %mm, %r : f32[3,10]"))
    let plan = try GraphCompiler.compile(graph, target: Self.inPlace)
    #expect(plan.steps.count == 1)
    var generator = SeededRandom(seed: 3)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    #expect(TestSupport.toleranceRatio(try Self.interpret(plan, inputs), expected, atol: 2e-4, rtol: 2e-4) <= 1)
  }

  /// A tied embedding: the lookup recomputes the decode of the rows it reads, and no kernel
  /// decodes the whole table.
  @Test(arguments: [DType.q4_1, .f16, .bf16])
  func aSharedDecodeIsStillComputedForItsOtherReader(dtype: DType) throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[1,32], %w: \(dtype)[6,32], %ids: i32[2]) -> (f32[1,6], f32[2,32]) {
        %d = \(Self.decode(dtype)) : f32[6,32]
        %t = transpose %d {perm = [1, 0]} : f32[32,6]
        %y = matmul %x, %t : f32[1,6]
        %e = gather %d, %ids {axis = 0} : f32[2,32]
        return %y, %e
      }
      """)
    let plan = try GraphCompiler.compile(graph, target: Self.inPlace)
    #expect(plan.memory.homes[Self.transposed(plan)] == nil)
    let kinds = plan.steps.map { $0.group.nodes.map { plan.graph.nodes[$0].kind } }
    #expect(!kinds.contains { $0.contains(.transpose) })
    #expect(kinds.contains { $0.contains(.gather) })
    // The matmul's kernel and the lookup's, no kernel of its own for the decode.
    #expect(plan.steps.count == 2, "\(kinds)")
  }

  @Test func withoutTheCapabilityTheTransposeIsMaterialised() throws {
    let graph = try TestSupport.parseOne(Self.text(.q4_0, rows: [1], k: 64, n: 8))
    let plan = try GraphCompiler.compile(graph, target: .everything("kir"))
    #expect(plan.steps.count == 2)
    #expect(plan.memory.homes[Self.transposed(plan)] != nil)
  }
}
