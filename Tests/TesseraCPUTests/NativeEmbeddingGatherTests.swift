import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// `gather(dequantize(w), indices)` along axis 0 (an embedding lookup) of every block format, and
/// `gather(cast(w), indices)` of f16 and bf16 tables, takes the cpu's native row lookup, alone,
/// scaled by a splat constant, and with the table shared by a tied output matmul, and equals the
/// reference evaluator.
@Suite struct NativeEmbeddingGatherTests {
  /// The three graph shapes an LLM builds around its embedding table.
  enum Shape: String, CaseIterable, Sendable {
    case plain, scaled, tied
  }

  /// Every block format's dtype, then the 16-bit floats.
  static let tableTypes = BlockFormat.all.map(\.dtype) + [.f16, .bf16]

  @Test(arguments: tableTypes, Shape.allCases)
  func looksUpRowsLikeTheReference(dtype: DType, shape: Shape) throws {
    let (rows, columns) = (9, 2 * (dtype.quantBlock?.elements ?? 32))
    let decode = dtype.isQuantized ? "dequantize %w" : "cast %w {to = f32}"
    // A repeated row, the first, the last, and a negative index counting from the end.
    let picks: [Double] = [3, 0, 8, 3, -2]
    let result = "f32[\(picks.count),\(columns)]"
    var body = "  %d = \(decode) : f32[\(rows),\(columns)]\n  %e = gather %d, %i {axis = 0} : \(result)\n"
    var results = ["%e"], types = [result]
    if shape != .plain {
      body += "  %s = constant 25.298221 : f32[]\n  %y = mul %e, %s : \(result)\n"
      (results, types) = (["%y"], [result])
    }
    if shape == .tied {
      body += "  %t = transpose %d {perm = [1, 0]} : f32[\(columns),\(rows)]\n"
      body += "  %l = matmul %x, %t : f32[1,\(rows)]\n"
      (results, types) = (results + ["%l"], types + ["f32[1,\(rows)]"])
    }
    let graph = try TestSupport.parseOne(
      """
      func @f(%w: \(dtype)[\(rows),\(columns)], %i: i32[\(picks.count)], %x: f32[1,\(columns)]) \
      -> (\(types.joined(separator: ", "))) {
      \(body)  return \(results.joined(separator: ", "))
      }
      """)
    var generator = SeededRandom(seed: 53)
    let inputs = [
      Tensor.random(graph.argumentTypes[0], using: &generator), Tensor(picks, shape: [picks.count], dtype: .i32),
      Tensor.random(graph.argumentTypes[2], using: &generator),
    ]
    let expected = try TestSupport.evaluate(graph, inputs)
    for threads in [1, 3] {
      let device = CPUDevice(pool: CPUThreadPool(threads: threads))
      let routes = try device.routes(for: graph)
      #expect(routes.count { if case .gather = $0 { true } else { false } } == 1, "\(dtype) \(shape) native lookup")
      // The tied output's transposed table is decoded whole for formats without a quantized matmul.
      #expect(
        !routes.contains { if case .dequantize(let kernel) = $0 { !kernel.transposed } else { false } },
        "no whole-table decode for the lookup")
      if !dtype.isQuantized {
        // The 16-bit table is widened by neither a cast kernel nor a transpose: the lookup widens
        // its rows and the tied matmul reads the table's tiles.
        #expect(!routes.contains { if case .vector = $0 { true } else { false } }, "\(dtype) \(shape): no kernel")
      }
      let actual = try device.compile(graph).run(inputs: inputs)
      #expect(actual[0].floats == expected[0].floats, "\(dtype) \(shape), \(threads) threads")
      for (a, e) in zip(actual.dropFirst(), expected.dropFirst()) {
        #expect(TestSupport.toleranceRatio(a, e, atol: 1e-4, rtol: 1e-4) <= 1, "\(dtype) tied output")
      }
    }
  }
}
