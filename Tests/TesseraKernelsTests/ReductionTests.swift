import TesseraCompiler
import TesseraIR
import TesseraKernels
import Testing

@Suite("Library kernels: reductions, argmax, softmax")
struct ReductionTests {
  /// (outer, size, inner).
  static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (7, 33, 1), (2, 7, 3), (1, 1000, 1), (3, 2, 5)]
  static let configs = [ReductionConfig(workgroupSize: 8), ReductionConfig(workgroupSize: 64)]

  private func scalars(_ shape: (Int, Int, Int)) -> [String: Double] {
    ["outer": Double(shape.0), "size": Double(shape.1), "inner": Double(shape.2)]
  }

  @Test("sum, max, min and mean over the middle axis", arguments: shapes, configs)
  func reductions(shape: (Int, Int, Int), config: ReductionConfig) throws {
    let (outer, size, inner) = shape
    let x = KernelCheck.random(.f32, [outer, size, inner], seed: 21)
    for op in ReductionOp.allCases {
      let kernel = try TesseraKernels.reduce(op, config: config)
      let y = try KernelCheck.run(kernel, [x, KernelCheck.output(outer * inner)], scalars(shape), result: 1)
      let kind: OpKind =
        switch op {
        case .sum: .reduceSum
        case .max: .reduceMax
        case .min: .reduceMin
        case .mean: .reduceMean
        }
      let expected = try KernelCheck.reference([x]) { g, v in g.reduce(kind, v[0], axes: [1]) }
      KernelCheck.expectClose(y, expected, atol: KernelCheck.sumTolerance(size), rtol: 1e-4)
    }
  }

  @Test("max and min propagate NaN")
  func nanPropagates() throws {
    let x = Tensor([1, .nan, 3, 4, 5, 6], shape: [2, 3, 1])
    for op in [ReductionOp.max, .min] {
      let kernel = try TesseraKernels.reduce(op, config: ReductionConfig(workgroupSize: 2))
      let y = try KernelCheck.run(kernel, [x, KernelCheck.output(2)], ["outer": 2, "size": 3, "inner": 1], result: 1)
      let kind: OpKind = op == .max ? .reduceMax : .reduceMin
      KernelCheck.expectClose(y, try KernelCheck.reference([x]) { g, v in g.reduce(kind, v[0], axes: [1]) })
    }
  }

  /// Inputs with many ties (integers 0…3 as floats) and, when `nans`, a few NaNs, so that "first
  /// maximal index" and "NaN is maximal" are both exercised.
  @Test("argmax: first maximal index, NaN maximal", arguments: shapes, [false, true])
  func argmax(shape: (Int, Int, Int), nans: Bool) throws {
    let (outer, size, inner) = shape
    var values = KernelCheck.random(.i32, [outer * size * inner], seed: 22).doubles
    if nans { for index in stride(from: values.count / 3, to: values.count, by: 5) { values[index] = .nan } }
    let x = Tensor(values, shape: [outer, size, inner])
    for config in Self.configs {
      let kernel = try TesseraKernels.argmax(config: config)
      let y = try KernelCheck.run(kernel, [x, KernelCheck.output(outer * inner, .i32)], scalars(shape), result: 1)
      let expected = try KernelCheck.reference([x]) { g, v in g.argmax(v[0], axis: 1) }
      #expect(y.doubles == expected.doubles)
    }
  }

  /// Lines of infinities: all -inf (the first index, where a lane's starting (-inf, size) must
  /// lose to it), -inf around one number, ties of +inf, and NaN among +inf; on 2 lanes (several
  /// elements each) and on 8 (lanes that see none of the line).
  @Test("argmax over infinities", arguments: [2, 8])
  func argmaxOfInfinities(lanes: Int) throws {
    let (inf, nan) = (Double.infinity, Double.nan)
    let lines: [[Double]] = [
      [-inf, -inf, -inf, -inf, -inf], [-inf, -inf, -inf, 2, -inf], [1, inf, 3, inf, inf], [inf, nan, inf, nan, 0],
      [-inf, -inf, -inf, -inf, -0.5],
    ]
    let x = Tensor(lines.flatMap { $0 }, shape: [lines.count, 5, 1])
    let kernel = try TesseraKernels.argmax(config: ReductionConfig(workgroupSize: lanes))
    let y = try KernelCheck.run(
      kernel, [x, KernelCheck.output(lines.count, .i32)], scalars((lines.count, 5, 1)), result: 1)
    let expected = try KernelCheck.reference([x]) { g, v in g.argmax(v[0], axis: 1) }
    #expect(expected.doubles == [0, 3, 1, 1, 4])
    #expect(y.doubles == expected.doubles)
  }

  @Test("softmax over the middle axis", arguments: shapes, configs)
  func softmax(shape: (Int, Int, Int), config: ReductionConfig) throws {
    let (outer, size, inner) = shape
    let x = KernelCheck.random(.f32, [outer, size, inner], seed: 23)
    let kernel = try TesseraKernels.softmax(config: config)
    let y = try KernelCheck.run(kernel, [x, KernelCheck.output(x.shape.count)], scalars(shape), result: 1)
    KernelCheck.expectClose(y, try KernelCheck.reference([x]) { g, v in g.softmax(v[0], axis: 1) })
  }
}
