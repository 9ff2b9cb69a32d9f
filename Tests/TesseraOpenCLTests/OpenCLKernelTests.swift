import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraOpenCL

/// Hand-built kernels that use every KIR instruction, run on OpenCL and on the KIR interpreter
/// (the second oracle) with the same buffers.
@Suite("OpenCL kernels vs the KIR interpreter", .enabled(if: OpenCLTestDevice.available, OpenCLTestDevice.reason))
struct OpenCLKernelTests {
  private func compare(_ kernel: Kernel, _ buffers: [Tensor], scalars: [String: Double] = [:], tolerance: Double = 1e-5)
    throws
  {
    let device = try #require(OpenCLTestDevice.device)
    let call = KernelCall(kernel: kernel, buffers: [], scalars: scalars)
    let expected = try KIRInterpreter.run(kernel, buffers: buffers, scalars: scalars)
    let actual = try device.run(call, buffers: buffers)
    for (index, parameter) in kernel.buffers.enumerated() where parameter.access != .read {
      let reference = Tensor(type: buffers[index].type, bytes: expected[index].bytes)!
      #expect(
        TestSupport.toleranceRatio(actual[index], reference, atol: tolerance, rtol: tolerance) <= 1,
        "\(kernel.name) buffer \(parameter.name): \(actual[index].preview(limit: 12)) vs \(reference.preview(limit: 12))"
      )
    }
  }

  private func random(_ count: Int, _ dtype: DType = .f32, seed: UInt64 = 1) -> Tensor {
    var generator = SeededRandom(seed: seed)
    return Tensor.random(TensorType(dtype, Shape([count])), integerBound: 4, using: &generator)
  }

  @Test func vectorInstructions() throws {
    let k = KernelBuilder(name: "vectors", comment: "every vector instruction")
    let x = k.buffer("x", .f32, .read), y = k.buffer("y", .f32, .read), out = k.buffer("out", .f32, .write)
    let lanesOut = k.buffer("lanes", .f32, .write), ints = k.buffer("ints", .i32, .write)
    let flags = k.buffer("flags", .bool, .write), halves = k.buffer("halves", .f16, .write)
    k.launch(global: [.constant(8)], workgroup: [4])
    let item = k.globalID(0)
    let base = item * k.i32(4)
    let a = x.load(base, lanes: 4), b = y.load(base, lanes: 4)
    let two = k.f32(2).splat(4)
    var value = k.unary(.abs, a) + k.unary(.exp, b * two) - k.unary(.tanh, a) * two
    value = value + k.unary(.sqrt, k.unary(.abs, b)) + k.unary(.floor, a) + k.unary(.erf, b)
    value = value + k.unary(.sin, a) * k.unary(.cos, b) + k.unary(.log, k.unary(.abs, a) + two)
    value = value + k.max(a, b) - k.min(a, b) + (a % two) + k.unary(.rsqrt, k.unary(.abs, b) + two)
    value = value + k.unary(.reciprocal, k.unary(.abs, a) + two) + k.unary(.abs, a).binary(.pow, two) / two
    value = a.multipliedAdding(b, value)
    let bigger = a.gt(b)
    out[base] = k.select(bigger, value, k.unary(.neg, value))
    lanesOut[item] = value.reduceLanes(.add) + value.lane(3) + value.reduceLanes(.max) - value.reduceLanes(.min)
    let asInt = (a * k.f32(3).splat(4)).cast(.i32)
    let three = k.i32(3).splat(4)
    ints[base] = k.max(asInt, k.i32(-5).splat(4)) % three + k.unary(.abs, asInt) + asInt.binary(.pow, three)
    flags[base] = bigger.and(a.lt(k.f32(1).splat(4))).binary(.or, b.compare(.eq, b))
    halves[base] = (value * two).cast(.f16)
    try compare(
      try k.finish(),
      [random(32), random(32, seed: 2), random(32), random(8), random(32, .i32), random(32, .bool), random(32, .f16)],
      tolerance: 2e-3)
  }

  /// OpenCL's `fma` rounds once, as the interpreter does: (1 + 2⁻¹²)² − (1 + 2⁻¹¹) is 2⁻²⁴ (a
  /// rounded product gives 0).
  @Test func mulAddRoundsOnce() throws {
    let k = KernelBuilder(name: "fused")
    let x = k.buffer("x", .f32, .read), y = k.buffer("y", .f32, .write)
    k.launch(global: [.constant(1)], workgroup: [1])
    y[k.i32(0)] = x[k.i32(0)].multipliedAdding(x[k.i32(0)], x[k.i32(1)])
    let inputs = Tensor([1 + 0x1p-12, -(1 + 0x1p-11)], shape: [2])
    #expect(
      try KIRInterpreter.run(try k.finish(), buffers: [inputs, Tensor(repeating: 0, shape: [1])], scalars: [:])[1]
        .doubles == [0x1p-24])
    try compare(try k.finish(), [inputs, Tensor(repeating: 0, shape: [1])], tolerance: 1e-12)
  }

  @Test func sharedMemoryLoopsAndBarriers() throws {
    let k = KernelBuilder(name: "row_sum", comment: "tree reduction in local memory")
    let x = k.buffer("x", .f32, .read), out = k.buffer("out", .f32, .write)
    let n = k.scalar("n")
    let partial = k.shared("partial", .f32, count: 16)
    k.launch(global: [.product(.scalar("rows"), .constant(16))], workgroup: [16])
    _ = k.scalar("rows")
    let row = k.groupID(0), local = k.localID(0)
    let sum = k.variable(k.f32(0))
    k.loop(from: local, to: n, step: 16) { i in sum.value = sum.value + x[row * n + i] }
    partial[local] = sum.value
    k.barrier()
    for stride in [8, 4, 2, 1] {
      k.if(local.lt(k.i32(stride))) {
        partial[local] = partial[local] + partial[local + k.i32(stride)]
      }
      k.barrier()
    }
    k.if(local.compare(.eq, k.i32(0))) {
      out[row] = partial[k.i32(0)] + k.groupCount(0).cast(.f32) * 0
    } else: {
      let unused = k.variable(k.i32(1))
      unused.value = unused.value + k.i32(1)
    }
    try compare(try k.finish(), [random(3 * 37), random(3)], scalars: ["n": 37, "rows": 3], tolerance: 1e-5)
  }

  @Test func everyStorageTypeAndCast() throws {
    let k = KernelBuilder(name: "casts", comment: "loads, casts and stores of every plain dtype")
    let dtypes: [DType] = [.f32, .f16, .bf16, .i64, .i32, .i8, .u8, .bool]
    let inputs = dtypes.map { k.buffer("in_\($0)", $0, .read) }
    let outputs = dtypes.map { k.buffer("out_\($0)", $0, .write) }
    k.launch(global: [.constant(20)], workgroup: [8])
    let i = k.globalID(0)
    k.if(i.lt(k.i32(20))) {
      let total = k.variable(k.f32(0))
      for input in inputs { total.value = total.value + input[i].cast(.f32) }
      for (position, output) in outputs.enumerated() {
        let source = inputs[(position + 3) % inputs.count][i]
        output[i] = (source.cast(.f32) * k.f32(1.5) + total.value).cast(dtypes[position])
      }
    }
    let buffers = dtypes.enumerated().map { random(20, $1, seed: UInt64(10 + $0)) } + dtypes.map { random(20, $0) }
    try compare(try k.finish(), buffers, tolerance: 1e-2)
  }

  @Test(arguments: [DType.q4_0, .q4_1, .q8_0])
  func dequantizedLoads(dtype: DType) throws {
    let k = KernelBuilder(name: "dequant_\(dtype)", comment: "load_dequant \(dtype)")
    let weights = k.buffer("w", dtype, .read), out = k.buffer("out", .f32, .write)
    k.launch(global: [.constant(64)], workgroup: [32])
    let i = k.globalID(0)
    out[i] = weights[i]
    var generator = SeededRandom(seed: 3)
    let blockBytes = dtype.quantBlock!.bytes
    var bytes = (0..<(2 * blockBytes)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    for block in 0..<2 {  // sane f16 scales (and minimums): 0x3C00 = 1.0, 0x3800 = 0.5
      bytes[block * blockBytes] = 0
      bytes[block * blockBytes + 1] = 0x38
      if dtype == .q4_1 { (bytes[block * blockBytes + 2], bytes[block * blockBytes + 3]) = (0, 0xBC) }
    }
    let quantized = Tensor(type: TensorType(dtype, Shape([64])), bytes: bytes)!
    let expected = Quantization.dequantize(bytes, dtype: dtype, count: 64)
    let device = try #require(OpenCLTestDevice.device)
    let actual = try device.run(
      KernelCall(kernel: try k.finish(), buffers: [], scalars: [:]), buffers: [quantized, random(64)])
    #expect(actual[1].floats == expected)
  }

  /// Every one of the 65,536 f16 bit patterns as a q8_0 block scale `d` widens to Swift's own
  /// `Float(Float16)` (element 0 of each block has code 1, so it is `d`): zeros, subnormals,
  /// normals and infinities bit for bit, NaNs as NaNs (the preamble's `tessera_half_bits`, one
  /// `vcvtph2ps` where the driver compiles for x86 with F16C).
  @Test func everyHalfBitPatternWidensExactlyAsABlockScale() throws {
    let k = KernelBuilder(name: "block_scales", comment: "out[b] = element 0 of q8_0 block b")
    let weights = k.buffer("w", .q8_0, .read), out = k.buffer("out", .f32, .write)
    k.launch(global: [.constant(65536)], workgroup: [64])
    let b = k.globalID(0)
    out[b] = weights[b * k.i32(32)]
    let patterns = (0..<65536).map { UInt16($0) }
    let bytes = patterns.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8), 1] + [UInt8](repeating: 0, count: 31) }
    let blocks = Tensor(type: TensorType(.q8_0, Shape([65536 * 32])), bytes: bytes)!
    let device = try #require(OpenCLTestDevice.device)
    let actual = try device.run(
      KernelCall(kernel: try k.finish(), buffers: [], scalars: [:]), buffers: [blocks, random(65536)])[1].floats
    let mismatches = zip(patterns, actual).filter { bits, value in
      let expected = Float(Float16(bitPattern: bits))
      return expected.isNaN ? !value.isNaN : expected.bitPattern != value.bitPattern
    }
    #expect(mismatches.isEmpty, "\(mismatches.prefix(8).map { String($0.0, radix: 16) + " -> \($0.1)" })")
  }

  @Test func aWorkgroupLargerThanTheDeviceAllowsIsAnErrorNamingTheKernel() throws {
    let device = try #require(OpenCLTestDevice.device)
    let k = KernelBuilder(name: "too_wide")
    let out = k.buffer("out", .f32, .write)
    let size = device.properties.maxWorkgroupSize * 2
    k.launch(global: [.constant(size)], workgroup: [size])
    out[k.globalID(0)] = k.f32(1)
    let call = KernelCall(kernel: try k.finish(), buffers: [], scalars: [:])
    #expect {
      _ = try device.run(call, buffers: [random(size)])
    } throws: { error in
      "\(error)".contains("too_wide") && "\(error)".contains("CL_INVALID_WORK_GROUP_SIZE")
    }
  }
}
