import Foundation
import TesseraCPU
import TesseraCompiler
import TesseraIR
import Testing

@Suite("Kernel IR: builder, verifier, printer, interpreter")
struct KIRTests {
  /// `y[i] = x[i] * 2 + 1` with a bounds check.
  private func scaleKernel() throws -> Kernel {
    let k = KernelBuilder(name: "scale", comment: "y = x * 2 + 1")
    let x = k.buffer("x", .f32, .read)
    let y = k.buffer("y", .f32, .write)
    let n = k.scalar("n")
    k.launch(global: [.scalar("n")], workgroup: [4])
    let i = k.globalID(0)
    k.if(i.lt(n)) { y[i] = x[i] * 2 + 1 }
    return try k.finish()
  }

  /// Sums each row of an `rows x cols` matrix with a shared-memory tree of `width` items per row.
  private func rowSumKernel(width: Int, barrier: Bool = true) throws -> Kernel {
    let k = KernelBuilder(name: "row_sum")
    let x = k.buffer("x", .f32, .read)
    let y = k.buffer("y", .f32, .write)
    let cols = k.scalar("cols")
    k.launch(global: [.product(.scalar("rows"), .constant(width))], workgroup: [width])
    _ = k.scalar("rows")
    let partial = k.shared("partial", .f32, count: width)
    let row = k.groupID(0), lane = k.localID(0)
    let sum = k.variable(k.f32(0))
    k.loop(from: lane, to: cols, step: width) { j in sum.value = sum.value + x[row * cols + j] }
    partial[lane] = sum.value
    var stride = width / 2
    while stride >= 1 {
      if barrier { k.barrier() }
      let s = k.i32(stride)
      k.if(lane.lt(s)) { partial[lane] = partial[lane] + partial[lane + s] }
      stride /= 2
    }
    if barrier { k.barrier() }
    k.if(lane.lt(k.i32(1))) { y[row] = partial[k.i32(0)] }
    return try k.finish()
  }

  /// Sums each row of an `rows x cols` matrix with one `subgroup_add` per row: `width` lanes per
  /// row, `rowsPerGroup` rows per workgroup; with `divergent`, only the first half of each row's
  /// lanes reach the sum.
  private func subgroupRowSumKernel(width: Int, rowsPerGroup: Int, divergent: Bool = false) throws -> Kernel {
    let k = KernelBuilder(name: "subgroup_row_sum")
    let x = k.buffer("x", .f32, .read)
    let y = k.buffer("y", .f32, .write)
    let cols = k.scalar("cols"), rows = k.scalar("rows")
    k.launch(global: [.constant(width), .scalar("rows")], workgroup: [width, rowsPerGroup])
    let lane = k.localID(0), row = k.globalID(1)
    let sum = k.variable(k.f32(0))
    k.if(row.lt(rows)) {
      k.loop(from: lane, to: cols, step: width) { j in sum.value = sum.value + x[row * cols + j] }
    }
    let store = { (total: KExpr) in k.if(lane.lt(k.i32(1)).and(row.lt(rows))) { y[row] = total } }
    if divergent {
      k.if(lane.lt(k.i32(width / 2))) { store(sum.value.subgroupAdd()) }
    } else {
      store(sum.value.subgroupAdd())
    }
    return try k.finish()
  }

  /// Row sums as `width` lanes and then a halving tree compute them, in f32.
  private func laneTreeSums(_ values: [Float], rows: Int, cols: Int, width: Int) -> [Double] {
    (0..<rows).map { r in
      var partial = (0..<width).map { lane in
        stride(from: lane, to: cols, by: width).reduce(Float(0)) { $0 + values[r * cols + $1] }
      }
      var half = width / 2
      while half >= 1 {
        for l in 0..<half { partial[l] += partial[l + half] }
        half /= 2
      }
      return Double(partial[0])
    }
  }

  @Test(
    "subgroup_add sums each row as the shared-memory tree does",
    arguments: [(1, 1, 8, 1), (3, 7, 8, 2), (5, 33, 8, 4), (2, 1000, 32, 2), (3, 5, 4, 3)])
  func subgroupRowSums(rows: Int, cols: Int, width: Int, rowsPerGroup: Int) throws {
    let values = (0..<(rows * cols)).map { Float(sin(Double($0) * 0.7)) * 3.1 }
    let x = Tensor(floats: values, shape: [rows * cols])
    let scalars = ["rows": Double(rows), "cols": Double(cols)]
    let subgroup = try KIRInterpreter.run(
      try subgroupRowSumKernel(width: width, rowsPerGroup: rowsPerGroup),
      buffers: [x, Tensor(repeating: 0, shape: [rows])], scalars: scalars)
    let tree = try KIRInterpreter.run(
      try rowSumKernel(width: width), buffers: [x, Tensor(repeating: 0, shape: [rows])], scalars: scalars)
    #expect(subgroup[1].doubles == laneTreeSums(values, rows: rows, cols: cols, width: width))
    #expect(subgroup[1].doubles == tree[1].doubles)
  }

  @Test(
    "the CPU's vector executor sums subgroups as the interpreter does",
    arguments: [(3, 7, 8, 2), (37, 33, 4, 4), (2, 1000, 32, 2)])
  func vectorExecutorSubgroupRowSums(rows: Int, cols: Int, width: Int, rowsPerGroup: Int) throws {
    let values = (0..<(rows * cols)).map { Float(cos(Double($0) * 0.3)) * 1.7 }
    var x = values, y = [Float](repeating: 0, count: rows)
    try x.withUnsafeMutableBytes { xBytes in
      try y.withUnsafeMutableBytes { yBytes in
        try VectorKernel(try subgroupRowSumKernel(width: width, rowsPerGroup: rowsPerGroup)).run(
          buffers: [
            KernelBufferBinding(pointer: xBytes.baseAddress!, count: rows * cols, dtype: .f32),
            KernelBufferBinding(pointer: yBytes.baseAddress!, count: rows, dtype: .f32),
          ], scalars: ["rows": Double(rows), "cols": Double(cols)])
      }
    }
    #expect(y.map(Double.init) == laneTreeSums(values, rows: rows, cols: cols, width: width))
  }

  @Test func aSubgroupSumReachedByPartOfARowFaults() throws {
    let kernel = try subgroupRowSumKernel(width: 4, rowsPerGroup: 1, divergent: true)
    #expect(
      throws: KIRError.fault(
        kernel: "subgroup_row_sum",
        detail: "subgroup_add reached by 2 of the 4 work-items of a row (local item 0) in group [0, 0]")
    ) {
      try KIRInterpreter.run(
        kernel, buffers: [Tensor(repeating: 1, shape: [8]), Tensor(repeating: 0, shape: [1])],
        scalars: ["rows": 1, "cols": 8])
    }
  }

  @Test func subgroupSumsNeedPowerOfTwoRowsAndF32() throws {
    let k = KernelBuilder(name: "rows_of_six")
    let y = k.buffer("y", .f32, .write)
    k.launch(global: [.constant(6)], workgroup: [6])
    y[k.localID(0)] = k.f32(1).subgroupAdd()
    #expect(
      throws: KIRError.invalid(
        kernel: "rows_of_six", detail: "subgroup_add in a workgroup whose rows of 6 work-items are not a power of two")
    ) { try k.finish() }
    let i = KernelBuilder(name: "integer_sum")
    let z = i.buffer("z", .i32, .write)
    i.launch(global: [.constant(4)], workgroup: [4])
    z[i.localID(0)] = i.localID(0).subgroupAdd()
    #expect(throws: KIRError.self) { try i.finish() }
  }

  @Test func printedSubgroupSum() throws {
    let text = KIRPrinter.print(try subgroupRowSumKernel(width: 8, rowsPerGroup: 2))
    #expect(text.contains("= subgroup_add %"))
  }

  @Test func elementwiseKernelComputesEveryElementAndRespectsBounds() throws {
    let kernel = try scaleKernel()
    let x = Tensor([1, 2, 3, 4, 5, 6, 7], shape: [7])
    let out = try KIRInterpreter.run(kernel, buffers: [x, Tensor(repeating: 0, shape: [7])], scalars: ["n": 7])
    #expect(out[1].doubles == [3, 5, 7, 9, 11, 13, 15])
  }

  @Test("workgroup tree reduction", arguments: [(1, 1), (3, 7), (2, 33), (1, 1000)])
  func rowSums(rows: Int, cols: Int) throws {
    let kernel = try rowSumKernel(width: 8)
    let values = (0..<(rows * cols)).map { Double($0 % 13) - 6 }
    let out = try KIRInterpreter.run(
      kernel, buffers: [Tensor(values, shape: [rows * cols]), Tensor(repeating: 0, shape: [rows])],
      scalars: ["rows": Double(rows), "cols": Double(cols)])
    let expected = (0..<rows).map { r in values[(r * cols)..<((r + 1) * cols)].reduce(0, +) }
    #expect(out[1].doubles == expected)
  }

  @Test func aMissingBarrierIsReportedAsARace() throws {
    let kernel = try rowSumKernel(width: 4, barrier: false)
    #expect(
      throws: KIRError.fault(
        kernel: "row_sum", detail: "local item 0 reads partial[2] written by local item 2 without a barrier between")
    ) {
      try KIRInterpreter.run(
        kernel, buffers: [Tensor(repeating: 1, shape: [8]), Tensor(repeating: 0, shape: [1])],
        scalars: ["rows": 1, "cols": 8])
    }
  }

  @Test func outOfBoundsAccessesFault() throws {
    let kernel = try scaleKernel()
    #expect(
      throws: KIRError.fault(
        kernel: "scale", detail: "load x[3] is out of bounds (3 elements) in group [0], local item 3")
    ) {
      try KIRInterpreter.run(
        kernel, buffers: [Tensor(repeating: 1, shape: [3]), Tensor(repeating: 0, shape: [8])], scalars: ["n": 8])
    }
  }

  @Test func aVectorLoadDequantOffAMultipleOfItsLanesFaults() throws {
    let k = KernelBuilder(name: "misaligned")
    let w = k.buffer("w", .q8_0, .read), out = k.buffer("out", .f32, .write)
    k.launch(global: [.constant(1)], workgroup: [1])
    out[k.i32(0)] = w.load(k.i32(4), lanes: 8).lane(0)
    let kernel = try k.finish()
    let blocks = try #require(Tensor(type: TensorType(.q8_0, Shape([32])), bytes: [UInt8](repeating: 0, count: 34)))
    #expect(
      throws: KIRError.fault(kernel: "misaligned", detail: "load_dequant of 8 lanes from w[4]: not a multiple of 8")
    ) {
      try KIRInterpreter.run(kernel, buffers: [blocks, Tensor(repeating: 0, shape: [1])], scalars: [:])
    }
  }

  @Test func aBarrierInDivergentCodeFaults() throws {
    let k = KernelBuilder(name: "divergent")
    let y = k.buffer("y", .f32, .write)
    k.launch(global: [.constant(4)], workgroup: [4])
    let i = k.localID(0)
    k.if(i.lt(k.i32(2))) {
      k.barrier()
      y[i] = k.f32(1)
    }
    let kernel = try k.finish()
    #expect(throws: KIRError.fault(kernel: "divergent", detail: "barrier reached by 2 of 4 work-items of group [0]")) {
      try KIRInterpreter.run(kernel, buffers: [Tensor(repeating: 0, shape: [4])], scalars: [:])
    }
  }

  @Test func twoWorkItemsWritingOneElementFault() throws {
    let k = KernelBuilder(name: "collide")
    let y = k.buffer("y", .f32, .write)
    k.launch(global: [.constant(2)], workgroup: [1])
    y[k.i32(0)] = k.f32(1)
    let kernel = try k.finish()
    #expect(throws: KIRError.fault(kernel: "collide", detail: "work-items 0 and 1 both write y[0]")) {
      try KIRInterpreter.run(kernel, buffers: [Tensor(repeating: 0, shape: [1])], scalars: [:])
    }
  }

  @Test func verifierRejectsBadKernels() throws {
    let k = KernelBuilder(name: "bad")
    let x = k.buffer("x", .f32, .read)
    x[k.i32(0)] = k.f32(1)
    #expect(throws: KIRError.invalid(kernel: "bad", detail: "store to read-only buffer x")) { try k.finish() }

    let m = KernelBuilder(name: "mixed")
    let a = m.buffer("a", .f32, .write)
    a[m.i32(0)] = m.f32(1) + m.i32(2).cast(.f32)
    _ = try m.finish()
    var broken = try m.finish()
    broken.valueTypes[broken.valueTypes.count - 1] = .i32
    #expect(throws: KIRError.self) { try KIRVerifier.verify(broken) }

    let scoped = KernelBuilder(name: "scoped")
    let out = scoped.buffer("out", .i32, .write)
    var leaked: KExpr?
    scoped.loop(from: scoped.i32(0), to: scoped.i32(4)) { i in leaked = i * 2 }
    out[scoped.i32(0)] = leaked!
    #expect(throws: KIRError.invalid(kernel: "scoped", detail: "%4 is used where it is not defined")) {
      try scoped.finish()
    }
  }

  @Test func vectorLoadsAndLaneReductions() throws {
    let k = KernelBuilder(name: "dot4")
    let x = k.buffer("x", .f32, .read)
    let y = k.buffer("y", .f32, .write)
    k.launch(global: [.constant(2)], workgroup: [2])
    let i = k.globalID(0)
    let v = x.load(i * 4, lanes: 4)
    y[i] = (v * v).reduceLanes(.add)
    let kernel = try k.finish()
    let out = try KIRInterpreter.run(
      kernel, buffers: [Tensor([1, 2, 3, 4, 0, 1, 0, 2], shape: [8]), Tensor(repeating: 0, shape: [2])], scalars: [:])
    #expect(out[1].doubles == [30, 5])
  }

  /// `mul_add` rounds once: (1 + 2⁻¹²)² − (1 + 2⁻¹¹) is 2⁻²⁴ exactly, where a rounded product
  /// (1 + 2⁻¹¹ + 2⁻²⁴ is a tie, to even) gives 0; on a scalar and on four lanes, in the
  /// interpreter and the CPU's vector executor. Integer operands are refused.
  @Test func mulAddRoundsOnce() throws {
    let k = KernelBuilder(name: "fused")
    let x = k.buffer("x", .f32, .read), y = k.buffer("y", .f32, .write)
    k.launch(global: [.constant(1)], workgroup: [1])
    let zero = k.i32(0)
    y[zero] = x[zero].multipliedAdding(x[zero], x[k.i32(4)])
    y[k.i32(1)] = x.load(zero, lanes: 4).multipliedAdding(x.load(zero, lanes: 4), x.load(k.i32(4), lanes: 4))
    let kernel = try k.finish()
    #expect(KIRPrinter.print(kernel).contains("mul_add"))
    let (a, c) = (1 + 0x1p-12, -(1 + 0x1p-11))
    let inputs = [a, 2, -1.5, 0.5, c, 1, 0.25, -0.25]
    let expected = [0x1p-24, 0x1p-24, 5, 2.5, 0]
    let interpreted = try KIRInterpreter.run(
      kernel, buffers: [Tensor(inputs, shape: [8]), Tensor(repeating: 0, shape: [5])], scalars: [:])
    #expect(interpreted[1].doubles == expected)
    var xs = inputs.map(Float.init), ys = [Float](repeating: 0, count: 5)
    try xs.withUnsafeMutableBytes { xBytes in
      try ys.withUnsafeMutableBytes { yBytes in
        try VectorKernel(kernel).run(
          buffers: [
            KernelBufferBinding(pointer: xBytes.baseAddress!, count: 8, dtype: .f32),
            KernelBufferBinding(pointer: yBytes.baseAddress!, count: 5, dtype: .f32),
          ], scalars: [:])
      }
    }
    #expect(ys.map(Double.init) == interpreted[1].doubles)

    let integers = KernelBuilder(name: "integers")
    let out = integers.buffer("out", .i32, .write)
    out[integers.i32(0)] = integers.i32(2).multipliedAdding(integers.i32(3), integers.i32(4))
    #expect(throws: KIRError.self) { try integers.finish() }
  }

  @Test func ceilDivLaunchesOneWorkItemPerBlock() throws {
    let k = KernelBuilder(name: "blocks")
    let y = k.buffer("y", .i32, .write)
    let n = k.scalar("n")
    k.launch(global: [.ceilDiv(.scalar("n"), 4)], workgroup: [2])
    let i = k.globalID(0)
    k.loop(from: i * 4, to: k.min(i * 4 + k.i32(4), n)) { j in y[j] = i }
    let kernel = try k.finish()
    #expect(KIRPrinter.print(kernel).contains("global [ceil($n/4)] workgroup [2]"))
    #expect(kernel.groupCounts(["n": 9]) == [2])
    #expect(kernel.groupCounts(["n": 0]) == [0])
    let out = try KIRInterpreter.run(
      kernel, buffers: [Tensor(repeating: -1, shape: [9], dtype: .i32)], scalars: ["n": 9])
    #expect(out[0].doubles == [0, 0, 0, 0, 1, 1, 1, 1, 2])

    var broken = kernel
    broken.globalSize = [.ceilDiv(.scalar("n"), 0)]
    #expect(throws: KIRError.invalid(kernel: "blocks", detail: "global size divides by 0")) {
      try KIRVerifier.verify(broken)
    }
  }

  @Test func quantizedLoadsDequantize() throws {
    let k = KernelBuilder(name: "deq")
    let w = k.buffer("w", .q8_0, .read)
    let y = k.buffer("y", .f32, .write)
    k.launch(global: [.constant(32)], workgroup: [8])
    let i = k.globalID(0)
    y[i] = w[i]
    let kernel = try k.finish()
    let bytes: [UInt8] = [0x00, 0x3C] + (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }  // scale 1.0
    let out = try KIRInterpreter.run(
      kernel, buffers: [Tensor(type: TensorType(.q8_0, [32]), bytes: bytes)!, Tensor(repeating: 0, shape: [32])],
      scalars: [:])
    #expect(out[1].doubles == (0..<32).map { Double($0 - 16) })
  }

  @Test func printerShowsStructure() throws {
    let text = KIRPrinter.print(try scaleKernel())
    #expect(
      text.hasPrefix(
        "// y = x * 2 + 1\nkernel @scale(x: f32[] read, y: f32[] write, $n: i32) global [$n] workgroup [4] {"))
    #expect(text.contains("  if %2 {\n    %3 = load x[%1] : f32"))
    #expect(text.contains("    store y[%1], %7\n  }\n}"))
  }
}
