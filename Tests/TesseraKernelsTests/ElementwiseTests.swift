import TesseraCompiler
import TesseraIR
import TesseraKernels
import Testing

@Suite("Library kernels: rope, gatherRows, permute")
struct ElementwiseTests {
  static let configs = [ElementwiseConfig(), ElementwiseConfig(workgroupSize: 7)]

  /// x shapes `[seq, dim]`, `[seq, heads, dim]` and `[batch, seq, heads, dim]`; SmolLM2's decode
  /// query (`[1, 9, 64]`) and an odd number of pairs in five heads.
  static let ropeShapes: [Shape] = [
    [1, 2], [7, 8], [3, 2, 16], [2, 3, 4, 8], [1, 1000], [33, 1, 2], [1, 9, 64], [2, 5, 6],
  ]

  /// Angles are computed in f32, so `theta^(-2i/dim)` carries a relative error of about
  /// `ln(theta) * 2^-24` that the position multiplies; positions below 64 keep the rotated values
  /// within the f32 tolerance of the double-precision reference (larger ones would need more).
  @Test("rope matches the reference in both modes", arguments: ropeShapes, [false, true])
  func rope(shape: Shape, neox: Bool) throws {
    let dims = shape.dims
    let dim = dims[dims.count - 1]
    let (seq, heads) = dims.count >= 3 ? (dims[dims.count - 3], dims[dims.count - 2]) : (dims[0], 1)
    let x = KernelCheck.random(.f32, shape, seed: 41)
    let positions = KernelCheck.random(.i32, [seq], seed: 42, integerBound: 64)
    for config in Self.configs {
      let kernel = try TesseraKernels.rope(neox: neox, config: config)
      let y = try KernelCheck.run(
        kernel, [x, positions, KernelCheck.output(shape.count)],
        [
          "tokens": Double(shape.count / dim / heads), "heads": Double(heads), "seq": Double(seq), "dim": Double(dim),
          "theta": 10000,
        ], result: 2)
      let expected = try KernelCheck.reference([x, positions]) { g, v in g.rope(v[0], positions: v[1], neox: neox) }
      KernelCheck.expectClose(y, expected)
    }
  }

  /// (rows, width, count); quantized tables need widths in whole 32-element blocks.
  @Test(
    "gatherRows is numpy take on axis 0, negative ids from the end",
    arguments: [DType.f32, .f16, .q4_0, .q4_1, .q8_0], [(1, 32, 1), (7, 64, 33), (1000, 32, 3)])
  func gather(dtype: DType, shape: (Int, Int, Int)) throws {
    let (rows, width, count) = shape
    let table = KernelCheck.random(dtype, [rows, width], seed: 43)
    let ids = Tensor(
      KernelCheck.random(.i32, [count], seed: 44, integerBound: 2 * rows).doubles.map { $0 - Double(rows) },
      shape: [count], dtype: .i32)
    for config in Self.configs {
      let kernel = try TesseraKernels.gatherRows(table: dtype, config: config)
      let out = try KernelCheck.run(
        kernel, [table, ids, KernelCheck.output(count * width)],
        ["rows": Double(rows), "width": Double(width), "count": Double(count)], result: 2)
      let expected = try KernelCheck.reference([table, ids]) { g, v in
        switch dtype {
        case .f32: g.gather(v[0], v[1])
        case .f16: g.cast(g.gather(v[0], v[1]), to: .f32)
        default: g.gather(g.dequantize(v[0]), v[1])
        }
      }
      #expect(out.doubles == expected.doubles)
    }
  }

  @Test("gatherRows writes NaN rows for ids outside -rows..<rows and reads nothing out of bounds")
  func gatherOutOfRange() throws {
    let table = KernelCheck.random(.f32, [3, 7], seed: 45)
    let kernel = try TesseraKernels.gatherRows(table: .f32)
    let out = try KernelCheck.run(
      kernel, [table, Tensor([3, -4, -3, 1000], shape: [4], dtype: .i32), KernelCheck.output(28)],
      ["rows": 3, "width": 7, "count": 4], result: 2)
    let values = out.doubles
    #expect(values[0..<14].allSatisfy(\.isNaN) && values[21..<28].allSatisfy(\.isNaN))
    #expect(Array(values[14..<21]) == Array(table.doubles[0..<7]))
  }

  /// One strided-copy case: the graph op, the input, and the kernel's output dims, input strides
  /// and offset (what the lowering computes for that op).
  struct PermuteCase: CustomStringConvertible, Sendable {
    var label: String
    var input: Tensor
    var dims: [Int]
    var strides: [Int]
    var offset: Int
    var op: @Sendable (GraphBuilder, ValueID) -> ValueID
    var description: String { label }
  }

  static let permuteCases: [PermuteCase] = [
    PermuteCase(
      label: "transpose [3,7,5] by [2,0,1]", input: KernelCheck.random(.f32, [3, 7, 5], seed: 46), dims: [5, 3, 7],
      strides: [1, 35, 5], offset: 0, op: { g, x in g.transpose(x, perm: [2, 0, 1]) }),
    PermuteCase(
      label: "broadcast [7,1] to [3,7,33]", input: KernelCheck.random(.f32, [7, 1], seed: 47), dims: [3, 7, 33],
      strides: [0, 1, 0], offset: 0, op: { g, x in g.broadcast(x, to: [3, 7, 33]) }),
    PermuteCase(
      label: "slice [1:7:2, 3:1000] of [7,1000]", input: KernelCheck.random(.f32, [7, 1000], seed: 48), dims: [3, 997],
      strides: [2000, 1], offset: 1003, op: { g, x in g.slice(x, start: [1, 3], end: [7, 1000], step: [2, 1]) }),
    PermuteCase(
      label: "i32 transpose [1,1]", input: KernelCheck.random(.i32, [1, 1], seed: 49), dims: [1, 1], strides: [1, 1],
      offset: 0, op: { g, x in g.transpose(x) }),
    PermuteCase(
      label: "f16 transpose [33,2]", input: KernelCheck.random(.f16, [33, 2], seed: 50), dims: [2, 33],
      strides: [1, 2], offset: 0, op: { g, x in g.transpose(x) }),
  ]

  @Test("permute copies transposes, broadcasts and slices", arguments: permuteCases)
  func permute(testCase: PermuteCase) throws {
    let rank = testCase.dims.count, count = testCase.dims.reduce(1, *)
    var scalars: [String: Double] = ["count": Double(count), "offset": Double(testCase.offset)]
    for axis in 0..<rank {
      scalars["d\(axis)"] = Double(testCase.dims[axis])
      scalars["s\(axis)"] = Double(testCase.strides[axis])
    }
    let dtype = testCase.input.dtype
    for config in Self.configs {
      let kernel = try TesseraKernels.permute(rank: rank, dtype: dtype, config: config)
      let y = try KernelCheck.run(kernel, [testCase.input, KernelCheck.output(count, dtype)], scalars, result: 1)
      let expected = try KernelCheck.reference([testCase.input]) { g, v in testCase.op(g, v[0]) }
      #expect(y.doubles == expected.doubles)
    }
  }
}
