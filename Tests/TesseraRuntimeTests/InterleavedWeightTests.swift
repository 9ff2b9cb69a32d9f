import Tessera
import TesseraTestSupport
import Testing

/// Weights read as copies with rows interleaved (``KRowInterleave``, what OpenCL CPU drivers'
/// streamed products read): the copy against GGUF's rows decoded by the reference, the kernels
/// that read it on OpenCL and the KIR interpreter against the reference evaluator (in
/// StreamedQuantizedMatmulTests and here), a copy made again after its weight is written, and
/// the devices that make no copies refusing such kernels.
@Suite("Weights read with rows interleaved")
struct InterleavedWeightTests {
  typealias Case = QuantizedMatmulDeviceTests.Case

  struct Layout: Sendable, CustomStringConvertible {
    var dtype: DType, n: Int
    var description: String { "\(dtype) n=\(n)" }
  }

  static let layouts = BlockFormat.all.map(\.dtype).flatMap { dtype in [1, 3, 4, 9].map { Layout(dtype: dtype, n: $0) }
  }

  @Test("the copy holds every row's blocks where index(row:column:) says", arguments: layouts)
  func copyMatchesTheRows(layout: Layout) {
    let block = layout.dtype.quantBlock!
    let k = 2 * block.elements, n = layout.n
    var generator = SeededRandom(seed: UInt64(7 + n))
    let weight = Tensor.random(TensorType(layout.dtype, [n, k]), using: &generator)
    let interleave = KRowInterleave(rows: 4, rowCount: n, rowElements: k)
    let copy = weight.withUnsafeBytes { interleave.interleaved($0, dtype: layout.dtype) }.bytes
    #expect(copy.count == interleave.byteCount(dtype: layout.dtype))
    #expect(copy.count == (n + 3) / 4 * 4 * (k / block.elements) * block.bytes)
    let rows = Quantization.dequantize(weight.withUnsafeBytes { Array($0) }, dtype: layout.dtype, count: n * k)
    let copied = Quantization.dequantize(copy, dtype: layout.dtype, count: (n + 3) / 4 * 4 * k)
    func same(_ a: Float, _ b: Float) -> Bool { a == b || (a.isNaN && b.isNaN) }
    // Rows past n repeat the last row.
    for row in 0..<((n + 3) / 4 * 4) {
      for column in 0..<k {
        let original = rows[Swift.min(row, n - 1) * k + column]
        let index = interleave.index(row: row, column: column, blockElements: block.elements)
        #expect(same(copied[index], original), "row \(row) column \(column)")
      }
    }
  }

  @Test("a kernel reads interleaved copies only of read-only block-quantized buffers of whole blocks")
  func verifierChecksTheBuffer() throws {
    func kernel(_ dtype: DType, _ access: BufferAccess, rowElements: Int) throws(KIRError) -> Kernel {
      let builder = KernelBuilder(name: "copy")
      let interleave = KRowInterleave(rows: 4, rowCount: 8, rowElements: rowElements)
      let weights = builder.buffer("w", dtype, access, interleave: interleave)
      let out = builder.buffer("out", .f32, .write)
      out[builder.i32(0)] = weights.load(builder.i32(0))
      return try builder.finish()
    }
    let valid = try #require(try? kernel(.q4_1, .read, rowElements: 64))
    #expect(throws: Never.self) { try KIRVerifier.verify(valid) }
    #expect(KIRPrinter.print(valid).contains("w: q4_1[] read interleaved rows 4 of 8x64"))
    for (dtype, access, elements) in [(DType.f32, BufferAccess.read, 64), (.q4_1, .readWrite, 64), (.q4_1, .read, 48)] {
      #expect(throws: KIRError.self, "\(dtype) \(access) \(elements)") {
        try KIRVerifier.verify(try kernel(dtype, access, rowElements: elements))
      }
    }
  }

  /// A target streaming rows four outputs a work-item, from interleaved copies.
  static let interleaving: TargetCapabilities = {
    var target = StreamedQuantizedMatmulTests.streamingTarget
    target.interleavedWeightRows = 4
    return target
  }()

  @Test("four outputs a work-item read one interleaved copy; 16-bit weights and a constant x keep one")
  func kernelShape() throws {
    func kernel(_ dtype: DType, _ c: Case) throws -> Kernel {
      let graph = try TestSupport.parseOne(QuantizedMatmulDeviceTests.text(dtype, c))
      return try #require(try GraphCompiler.compile(graph, target: Self.interleaving).steps.compactMap(\.call).first)
        .kernel
    }
    let streamed = try kernel(.q4_1, Case(rows: [1], k: 576, n: 130))
    let weight = try #require(streamed.buffers.first { $0.dtype == .q4_1 })
    #expect(weight.interleave == KRowInterleave(rows: 4, rowCount: 130, rowElements: 576))
    // 33 work-items of four outputs, 8 a workgroup (32 outputs, as with one output each).
    #expect(streamed.workgroupSize.prefix(2) == [1, 8])
    #expect(streamed.globalSize[1] == .constant(40))
    for (dtype, c) in [
      (DType.f16, Case(rows: [1], k: 64, n: 9)), (.q8_0, Case(rows: [1], k: 64, n: 9, constantX: true)),
    ] {
      let other = try kernel(dtype, c)
      #expect(other.buffers.allSatisfy { $0.interleave == nil }, "\(dtype) \(c)")
      #expect(other.workgroupSize.prefix(2) == [1, 32])
    }
  }

  @Test(
    "on the interpreter, with the norm and gate and up in the kernel",
    arguments: [DType.q4_0, .q4_1, .q8_0, .q4_k, .q6_k])
  func interpreterWithNormsAndPairs(dtype: DType) throws {
    var target = Self.interleaving
    target.pairsQuantizedProducts = true
    target.fusesNormsIntoProducts = true
    let device = KIRDevice(library: StandardKernelLibrary(), capabilities: target)
    let e = dtype.quantBlock!.elements
    for c in [
      Case(rows: [1], k: 2 * e, n: 130, normed: true),
      Case(rows: [3], k: 3 * e, n: 9, epilogue: .residual, normed: true),
      Case(rows: [1], k: e, n: 7, epilogue: .swiglu, normed: true), Case(rows: [2], k: 2 * e, n: 6, epilogue: .swiglu),
    ] {
      try QuantizedMatmulDeviceTests.check(device, dtype, c)
    }
  }

  @Test("OpenCL makes the copy again after its weight is written", .enabled(if: openCL != nil))
  func copyFollowsWrites() throws {
    let device = try #require(Self.openCL)
    let c = Case(rows: [1], k: 96, n: 10)
    let graph = try TestSupport.parseOne(QuantizedMatmulDeviceTests.text(.q4_1, c))
    let compiled = try device.compile(graph)
    var generator = SeededRandom(seed: 41)
    let x = Tensor.random(graph.argumentTypes[0], using: &generator)
    let weight = try (device as any Device).upload(Tensor.random(graph.argumentTypes[1], using: &generator), name: "w")
    for round in 0..<3 {
      if round > 0 { try weight.write(Tensor.random(graph.argumentTypes[1], using: &generator)) }
      let expected = try TestSupport.evaluate(graph, [x, try weight.read()])[0]
      let actual = try compiled.run([.host(x), .device(weight)])[0].hostTensor()
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 2e-4, rtol: 2e-4) <= 1, "round \(round)")
    }
  }

  /// The first OpenCL device, reading interleaved copies (as CPU drivers do by default).
  static let openCL: OpenCLDevice? = {
    guard let base = QuantizedMatmulDeviceTests.device("opencl") as? OpenCLDevice else { return nil }
    var capabilities = base.capabilities
    capabilities.streamsQuantizedRows = true
    capabilities.interleavedWeightRows = 4
    return try? base.configured(capabilities: capabilities)
  }()

  @Test("devices that make no copies refuse kernels reading them, naming the kernel and buffer")
  func otherDevicesRefuse() throws {
    let graph = try TestSupport.parseOne(QuantizedMatmulDeviceTests.text(.q8_0, Case(rows: [1], k: 64, n: 8)))
    let plan = try GraphCompiler.compile(graph, target: Self.interleaving)
    #expect {
      try plan.refuseInterleavedCopies(device: "vulkan:0")
    } throws: { error in
      let text = "\(error)"
      return text.contains("vulkan:0") && text.contains("interleaved") && text.contains("k")
    }
    let plain = try GraphCompiler.compile(graph, target: StreamedQuantizedMatmulTests.streamingTarget)
    #expect(throws: Never.self) { try plain.refuseInterleavedCopies(device: "vulkan:0") }
  }
}
