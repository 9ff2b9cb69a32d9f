import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// `gather` of rows of an f32 table by i32 or i64 indices (negative ones counting from the end),
/// alone and with the elementwise chain that follows it (BERT's embeddings: `+ position +
/// token type`), runs as the cpu's native lookup, with no generated kernel, and equals the
/// reference evaluator; an index outside the table fails the run with the reference's error.
@Suite("Native f32 table gather on the cpu device vs the reference evaluator")
struct NativeTableGatherTests {
  /// A lookup graph: rows of `table` along `axis` picked by indices of `indexShape`, then
  /// `epilogue` (lines over `%g`, the gathered rows, ending in `%y`; `RESULT` stands for the
  /// result's type) reading the extra `arguments`.
  struct Case: Sendable, CustomTestStringConvertible {
    let name: String
    let table: [Int]
    var axis = 0
    let indexShape: [Int]
    let arguments: [String]
    let epilogue: [String]

    var testDescription: String { name }

    /// The graph with indices of `indexType`.
    func graph(indexType: DType) throws -> Graph {
      let result = "f32\(table[..<axis] + indexShape + table[(axis + 1)...])"
      let body =
        ["%g = gather %t, %i {axis = \(axis)} : \(result)"]
        + epilogue.map { $0.replacingOccurrences(of: "RESULT", with: result) }
      let arguments = (["%t: f32\(table)", "%i: \(indexType)\(indexShape)"] + arguments).joined(separator: ", ")
      return try TestSupport.parseOne(
        "func @f(\(arguments)) -> \(result) {\n  " + body.joined(separator: "\n  ") + "\n  return "
          + (epilogue.isEmpty ? "%g" : "%y") + "\n}")
    }

    /// The inputs: a random table and arguments, and indices that repeat, take the first and last
    /// rows, and count from the end (-1, and -rows, the first row).
    func inputs(for graph: Graph, indexType: DType) -> [Tensor] {
      let rows = table[axis], count = indexShape.reduce(1, *)
      let pattern = [-1, 0, rows - 1, -rows, 2, 2, rows / 2]
      let picks = (0..<count).map { Double(pattern[$0 % pattern.count]) }
      var generator = SeededRandom(seed: 29)
      return graph.argumentTypes.enumerated().map { index, type in
        index == 1 ? Tensor(picks, shape: Shape(indexShape), dtype: indexType) : Tensor.random(type, using: &generator)
      }
    }
  }

  static let cases = [
    Case(
      name: "lone lookup of a rank-3 table by 2-D indices", table: [9, 2, 3], indexShape: [2, 3], arguments: [],
      epilogue: []),
    Case(name: "lone lookup by a scalar index", table: [7, 6], indexShape: [], arguments: [], epilogue: []),
    Case(
      name: "BERT's embeddings: plus position, plus token type (broadcast, operand first)", table: [11, 6],
      indexShape: [1, 5], arguments: ["%p: f32[1,5,6]", "%q: f32[5,6]"],
      epilogue: ["%a = add %g, %p : RESULT", "%y = add %q, %a : RESULT"]),
    Case(
      name: "a column operand first, a per-row divisor and a splat constant", table: [7, 6], indexShape: [5],
      arguments: ["%b: f32[6]", "%r: f32[5,1]"],
      epilogue: [
        "%s = sub %b, %g : RESULT", "%d = div %s, %r : RESULT", "%c = constant 0.5 : f32[]", "%y = mul %d, %c : RESULT",
      ]),
    Case(
      name: "a rank-3 table's rows span several result rows", table: [9, 2, 3], indexShape: [4],
      arguments: ["%p: f32[2,3]", "%v: f32[4,1,1]"], epilogue: ["%a = add %g, %p : RESULT", "%y = div %v, %a : RESULT"]),
  ]

  /// Whether `route` runs a generated kernel.
  static func isGenerated(_ route: CPUPlanBackend.Action) -> Bool {
    if case .vector = route { true } else { false }
  }

  @Test("lookups and their epilogues are native and match the reference", arguments: cases, [DType.i32, .i64])
  func matchesTheReference(lookup: Case, indexType: DType) throws {
    let graph = try lookup.graph(indexType: indexType)
    let inputs = lookup.inputs(for: graph, indexType: indexType)
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    for threads in threadCounts {
      let device = CPUDevice(pool: CPUThreadPool(threads: threads))
      let routes = try device.routes(for: graph)
      let lookups = routes.compactMap { if case .gather(let kernel) = $0 { kernel } else { nil } }
      #expect(lookups.count == 1, "one native lookup in \(routes)")
      #expect(lookups.first?.epilogue.steps.count == lookup.epilogue.count { !$0.contains("constant") })
      #expect(!routes.contains(where: Self.isGenerated), "no generated kernel in \(routes)")
      let actual = try device.compile(graph).run(inputs: inputs)[0]
      #expect(actual.type == expected.type)
      #expect(actual.floats == expected.floats, "\(threads) threads")
    }
  }

  @Test(
    "an index outside the table fails as on the reference", arguments: [DType.i32, .i64], [11, -12, 1 << 30])
  func outOfRangeIndex(indexType: DType, index: Int) throws {
    let lookup = Self.cases[2]
    let graph = try lookup.graph(indexType: indexType)
    var inputs = lookup.inputs(for: graph, indexType: indexType)
    inputs[1] = Tensor([0, 1, Double(index), 2, 3], shape: [1, 5], dtype: indexType)
    let referenceError = #expect(throws: DeviceError.self) { try TestSupport.evaluate(graph, inputs) }
    let expected = try #require(referenceError)
    #expect(expected.description.contains("index \(index) is out of range for axis 0 of size 11"))
    let device = CPUDevice(pool: CPUThreadPool(threads: 3))
    #expect(throws: expected) { try device.compile(graph).run(inputs: inputs) }
  }

  /// Lookups the native route declines: along another axis, and with an op it does not fuse.
  static let declined = [
    Case(name: "along axis 1", table: [4, 7], axis: 1, indexShape: [3], arguments: [], epilogue: []),
    Case(
      name: "exp after the lookup", table: [7, 6], indexShape: [5], arguments: [],
      epilogue: ["%y = exp %g : RESULT"]),
  ]

  @Test("other lookups keep the generated kernel and match the reference", arguments: declined)
  func declinedLookups(lookup: Case) throws {
    let graph = try lookup.graph(indexType: .i32)
    let inputs = lookup.inputs(for: graph, indexType: .i32)
    let device = CPUDevice(pool: CPUThreadPool(threads: 3))
    let routes = try device.routes(for: graph)
    #expect(!routes.contains { if case .gather = $0 { true } else { false } })
    #expect(routes.contains(where: Self.isGenerated))
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    #expect(try device.compile(graph).run(inputs: inputs)[0].floats == expected.floats)
  }
}
