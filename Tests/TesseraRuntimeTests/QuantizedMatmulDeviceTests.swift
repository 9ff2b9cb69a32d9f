import Tessera
import TesseraTestSupport
import Testing

@testable import TesseraCompiler

/// `matmul(x, transpose(dequantize(w)))` on OpenCL and Vulkan, whose kernels read `w`'s GGUF
/// blocks in place (and `transpose(cast(w))` of f16 and bf16 `w`, read and widened in place),
/// against the reference evaluator: every block type, decode (one row) and a
/// few rows, odd K and N (one block, outputs not a multiple of a workgroup's), a batch, and the
/// Llama epilogues (residual add, SwiGLU), and x's RMS norm computed in the kernel; with subgroup sums where the device has them and with
/// the shared-memory tree forced, and on the KIR interpreter with both. A device without a
/// driver is skipped with its provider's reason.
@Suite("Quantized matmuls on the GPU targets against the reference")
struct QuantizedMatmulDeviceTests {
  private static let registry = DeviceRegistry.standard()

  /// x's leading dims, K, N, and an optional epilogue line defining `%y` from `%mm` and `%r`
  /// (an f32 tensor of the result's shape), or SwiGLU's two matmuls.
  /// With `constantX`, x is a splat constant, which the kernel evaluates element by element
  /// instead of loading it a chunk at a time. With `normed`, the products read `rms_norm(x, g)`
  /// (`g` an argument), which the GPU targets compute inside the product kernels below a tile of
  /// rows.
  struct Case: Sendable, CustomStringConvertible {
    var rows: [Int], k: Int, n: Int
    var epilogue: Epilogue = .none
    var constantX = false
    var normed = false
    enum Epilogue: String, Sendable { case none, residual, swiglu }
    var description: String {
      "\(normed ? "rms_norm " : "")x \(rows + [k])\(constantX ? " constant" : "") w [\(n), \(k)] \(epilogue)"
    }
  }

  static let cases =
    [
      Case(rows: [1], k: 576, n: 130), Case(rows: [1], k: 96, n: 7), Case(rows: [3], k: 576, n: 7),
      Case(rows: [5], k: 96, n: 130, epilogue: .residual), Case(rows: [2, 3], k: 64, n: 9),
      Case(rows: [1], k: 576, n: 130, epilogue: .swiglu), Case(rows: [1], k: 32, n: 9),
      Case(rows: [3], k: 32, n: 17, epilogue: .residual),
      // Tails of the word-wide decode: K of 5 and 7 blocks (lanes take unequal numbers of
      // chunks; blocks start on both 2-byte alignments), a full and a partial group of x rows.
      Case(rows: [1], k: 160, n: 33), Case(rows: [4], k: 224, n: 19, epilogue: .residual),
      Case(rows: [6], k: 160, n: 3), Case(rows: [1], k: 96, n: 5, constantX: true),
    ] + normedCases + tiledCases

  /// Products of `rms_norm(x, g)`: decode, a few rows with a residual (rows past a group of x
  /// rows), SwiGLU (one norm for both products), a constant x (read element by element), and a
  /// tile of rows (the norm kernel kept where the target tiles).
  static let normedCases = [
    Case(rows: [1], k: 576, n: 130, normed: true), Case(rows: [5], k: 160, n: 33, epilogue: .residual, normed: true),
    Case(rows: [1], k: 576, n: 130, epilogue: .swiglu, normed: true),
    Case(rows: [1], k: 96, n: 5, constantX: true, normed: true),
    Case(rows: [33], k: 64, n: 40, epilogue: .residual, normed: true),
  ]

  /// Prefill shapes, which take the tiled kernel where the target tiles (``TiledQuantizedMatmul``,
  /// 32 × 32 blocks): a whole block and a ragged one each way, exactly one block with SwiGLU, a
  /// batch of rows, and one block of K.
  static let tiledCases = [
    Case(rows: [37], k: 96, n: 70, epilogue: .residual), Case(rows: [32], k: 64, n: 32, epilogue: .swiglu),
    Case(rows: [2, 33], k: 32, n: 33),
  ]

  /// The first Vulkan device compiling as for a GPU, though it may run on the CPU (lavapipe,
  /// which multiplies a prefill's decoded weights on the blocked matmul instead of the tiled
  /// kernel, and keeps RMS norms apart from the products).
  static let gpuChoicesVulkan: (any Device)? = VulkanProvider(choosesForCPU: false).discover().lazy
    .compactMap(\.device).first

  /// The first Vulkan device with every reduction in shared memory, though it may have
  /// subgroup arithmetic.
  static let treeOnlyVulkan: (any Device)? = VulkanProvider(subgroupSums: false).discover().lazy
    .compactMap(\.device).first

  /// The interpreter running the kernels a GPU target gets: without subgroups, or with
  /// subgroups of 4 and 8 work-items; SwiGLU's gate and up in one kernel, norms computed by the
  /// products (which needs the library's norm kernel: without it, norms become core ops).
  static let interpreters = [nil, 4, 8].map { size in
    var capabilities = TargetCapabilities.everything("kir", matmulsReadQuantizedWeights: true, subgroupSize: size)
    capabilities.pairsQuantizedProducts = true
    capabilities.fusesNormsIntoProducts = true
    return KIRDevice(library: StandardKernelLibrary(), capabilities: capabilities)
  }

  /// The SwiGLU cases.
  static let swigluCases = cases.filter { $0.epilogue == .swiglu }

  static func device(_ kind: String) -> (any Device)? {
    registry.availableDevices.first { $0.info.name.hasPrefix(kind) }
  }

  static func skipReason(_ kind: String) -> Comment {
    let reasons = registry.entries.filter { $0.info.name.hasPrefix(kind) }.compactMap { entry -> String? in
      if case .unavailable(let reason) = entry.info.availability { return "\(entry.info.name): \(reason)" }
      return nil
    }
    return Comment(rawValue: "no usable \(kind) device (\(reasons.joined(separator: "; ")))")
  }

  static func text(_ dtype: DType, _ c: Case) -> String {
    func dims(_ values: [Int]) -> String { "[" + values.map(String.init).joined(separator: ",") + "]" }
    let x = "f32\(dims(c.rows + [c.k]))", y = "f32\(dims(c.rows + [c.n]))"
    let normArgument = c.normed ? ", %nw: f32[\(c.k)]" : ""
    let norm = c.normed ? "  %h = rms_norm %x, %nw {axis = -1, epsilon = 1.0e-05} : \(x)\n" : ""
    let weight = "\(dtype)[\(c.n),\(c.k)]", dequantized = "f32[\(c.n),\(c.k)]", transposed = "f32[\(c.k),\(c.n)]"
    func matmul(_ w: String, _ result: String) -> String {
      """
        %d\(w) = \(dtype.isQuantized ? "dequantize" : "cast") %\(w)\(dtype.isQuantized ? "" : " {to = f32}") : \(dequantized)
        %t\(w) = transpose %d\(w) {perm = [1, 0]} : \(transposed)
        %\(result) = matmul %\(c.normed ? "h" : "x"), %t\(w) : \(y)
      """
    }
    if c.constantX {
      return
        "func @f(%w: \(weight)\(normArgument)) -> \(y) {\n  %x = constant 0.375 : \(x)\n\(norm)\(matmul("w", "y"))\n  return %y\n}"
    }
    switch c.epilogue {
    case .none:
      return "func @f(%x: \(x), %w: \(weight)\(normArgument)) -> \(y) {\n\(norm)\(matmul("w", "y"))\n  return %y\n}"
    case .residual:
      return """
        func @f(%x: \(x), %w: \(weight), %r: \(y)\(normArgument)) -> \(y) {
        \(norm)\(matmul("w", "mm"))
          %y = add %mm, %r : \(y)
          return %y
        }
        """
    case .swiglu:
      return """
        func @f(%x: \(x), %g: \(weight), %u: \(weight)\(normArgument)) -> \(y) {
        \(norm)\(matmul("g", "gate"))
        \(matmul("u", "up"))
          %s = silu %gate : \(y)
          %y = mul %s, %up : \(y)
          return %y
        }
        """
    }
  }

  static func check(_ kind: String, _ dtype: DType, _ c: Case) throws {
    try check(try #require(Self.device(kind)), dtype, c)
  }

  static func check(_ device: any Device, _ dtype: DType, _ c: Case) throws {
    let kind = device.info.name
    let graph = try TestSupport.parseOne(Self.text(dtype, c))
    var generator = SeededRandom(seed: 29)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    let ratio = TestSupport.toleranceRatio(actual, expected, atol: 2e-4, rtol: 2e-4)
    #expect(
      actual.type == expected.type && ratio <= 1, "\(kind) \(dtype) \(c): \(actual.preview()) vs \(expected.preview())")
  }

  @Test(
    "OpenCL", .enabled(if: device("opencl") != nil, skipReason("opencl")),
    arguments: [DType.q4_0, .q4_1, .q8_0, .f16, .bf16], cases)
  func openCL(dtype: DType, shape: Case) throws { try Self.check("opencl", dtype, shape) }

  @Test(
    "Vulkan", .enabled(if: device("vulkan") != nil, skipReason("vulkan")),
    arguments: [DType.q4_0, .q4_1, .q8_0, .f16, .bf16], cases)
  func vulkan(dtype: DType, shape: Case) throws { try Self.check("vulkan", dtype, shape) }

  @Test(
    "Vulkan, shared-memory tree forced", .enabled(if: treeOnlyVulkan != nil, skipReason("vulkan")),
    arguments: [DType.q4_0, .q4_1, .q8_0, .f16, .bf16], cases)
  func vulkanWithoutSubgroups(dtype: DType, shape: Case) throws {
    let device = try #require(Self.treeOnlyVulkan)
    #expect((device as? VulkanDevice)?.capabilities.subgroupSize == nil)
    try Self.check(device, dtype, shape)
  }

  @Test(
    "OpenCL, the tiled kernel forced", .enabled(if: device("opencl") != nil, skipReason("opencl")),
    arguments: [DType.q4_0, .q4_1, .q8_0, .f16], tiledCases)
  func openCLTiled(dtype: DType, shape: Case) throws {
    // PoCL's untuned shape streams rows (it runs workgroups as loops, split at every barrier);
    // a target without that takes the tiled kernel for these shapes.
    let (device, capabilities) = try Self.openCL {
      $0.streamsQuantizedRows = false
      $0.tuning = KernelTuning()
    }
    let graph = try TestSupport.parseOne(Self.text(dtype, shape))
    let kernel = try #require(try GraphCompiler.compile(graph, target: capabilities).steps.compactMap(\.call).last)
      .kernel
    #expect(kernel.workgroupSize == [8, 8, 1], "the tiled kernel's workgroup")
    try Self.check(device, dtype, shape)
  }

  @Test(
    "Vulkan as for a GPU: the tiled kernel kept, norms computed by the products",
    .enabled(if: gpuChoicesVulkan != nil, skipReason("vulkan")),
    arguments: [DType.q4_0, .q4_1, .q8_0, .f16], tiledCases + normedCases)
  func vulkanAsForAGPU(dtype: DType, shape: Case) throws {
    let device = try #require(Self.gpuChoicesVulkan as? VulkanDevice)
    #expect(device.capabilities.dequantizedProductRows == nil && device.capabilities.fusesNormsIntoProducts)
    try Self.check(device, dtype, shape)
  }

  @Test(
    "OpenCL, norms computed by the products, streamed and not",
    .enabled(if: device("opencl") != nil, skipReason("opencl")), arguments: [true, false], normedCases)
  func openCLNormed(streamed: Bool, shape: Case) throws {
    let (device, _) = try Self.openCL {
      $0.fusesNormsIntoProducts = true
      $0.streamsQuantizedRows = streamed
      $0.tuning = KernelTuning()
    }
    for dtype in [DType.q4_1, .q8_0, .f16] { try Self.check(device, dtype, shape) }
  }

  @Test(
    "from a tile of rows, a target that decodes prefill weights multiplies them on the blocked matmul",
    arguments: [TargetCapabilities.tiledProductRows - 1, TargetCapabilities.tiledProductRows])
  func decodedWeightsFromATileOfRows(rows: Int) throws {
    // 31 or 32 rows by 256 by 160: over the 2²⁰ multiply-adds from which the library takes it.
    let graph = try TestSupport.parseOne(Self.text(.q4_1, Case(rows: [rows], k: 256, n: 160, epilogue: .residual)))
    var target = TargetCapabilities.gpu("vulkan")
    target.dequantizedProductRows = TargetCapabilities.tiledProductRows
    let options = CompileOptions(library: StandardKernelLibrary())
    let kinds = try GraphCompiler.compile(graph, target: target, options: options).steps.filter { $0.call != nil }.map {
      $0.group.nodes.map { graph.nodes[$0].kind }
    }
    let decoded = [[.dequantize, .transpose], [.matmul], [.add]] as [[OpKind]]
    #expect(kinds == (rows >= TargetCapabilities.tiledProductRows ? decoded : [[.matmul, .add]]), "\(kinds)")
  }

  @Test(
    "OpenCL, gate and up in one streamed kernel", .enabled(if: device("opencl") != nil, skipReason("opencl")),
    arguments: [DType.q4_0, .q4_1, .q8_0, .f16], swigluCases)
  func openCLPaired(dtype: DType, shape: Case) throws {
    // On PoCL each work-item streams both rows, one after the other; forced on in case a driver
    // keeps the two products apart.
    try Self.check(try Self.openCL { $0.pairsQuantizedProducts = true }.device, dtype, shape)
  }

  /// The first OpenCL device with its capabilities changed by `change`, and those capabilities.
  static func openCL(_ change: (inout TargetCapabilities) -> Void) throws -> (
    device: OpenCLDevice, capabilities: TargetCapabilities
  ) {
    let base = try #require(Self.device("opencl") as? OpenCLDevice)
    var capabilities = base.capabilities
    change(&capabilities)
    return (try base.configured(capabilities: capabilities), capabilities)
  }

  @Test(
    "gate and up share a kernel below a tile of rows where the target pairs them",
    arguments: [1, 3, TiledQuantizedMatmul.tile])
  func pairedBelowATileOfRows(rows: Int) throws {
    let graph = try TestSupport.parseOne(Self.text(.q4_1, Case(rows: [rows], k: 64, n: 40, epilogue: .swiglu)))
    var target = TargetCapabilities.gpu("vulkan")
    func products() throws -> [Int] {
      try GraphCompiler.compile(graph, target: target).steps.filter { $0.call != nil }.map { step in
        step.group.nodes.filter { graph.nodes[$0].kind == .matmul }.count
      }
    }
    #expect(try products() == (rows < TiledQuantizedMatmul.tile ? [2] : [1, 1]))
    target.pairsQuantizedProducts = false
    #expect(try products() == [1, 1])
  }

  /// Attention's projections: one norm read by three products by q4_1 weights.
  static func projections(rows: Int) -> String {
    let x = "f32[\(rows),64]"
    let products = [("q", 64), ("k", 32), ("v", 32)].map { name, n in
      """
        %d\(name) = dequantize %w\(name) : f32[\(n),64]
        %t\(name) = transpose %d\(name) {perm = [1, 0]} : f32[64,\(n)]
        %\(name) = matmul %h, %t\(name) : f32[\(rows),\(n)]
      """
    }
    return """
      func @f(%x: \(x), %g: f32[64], %wq: q4_1[64,64], %wk: q4_1[32,64], %wv: q4_1[32,64]) -> (f32[\(rows),64], f32[\(rows),32], f32[\(rows),32]) {
        %h = rms_norm %x, %g {axis = -1, epsilon = 1.0e-05} : \(x)
      \(products.joined(separator: "\n"))
        return %q, %k, %v
      }
      """
  }

  @Test(
    "each product computes the norm of its x below a tile of rows where the target fuses norms",
    arguments: [1, 3, TiledQuantizedMatmul.tile])
  func normsComputedByTheProducts(rows: Int) throws {
    let graph = try TestSupport.parseOne(Self.projections(rows: rows))
    let options = CompileOptions(library: StandardKernelLibrary())
    var target = TargetCapabilities.gpu("vulkan")
    func kernels() throws -> [[OpKind]] {
      try GraphCompiler.compile(graph, target: target, options: options).steps.filter { $0.call != nil }.map { step in
        step.group.nodes.map { graph.nodes[$0].kind }.filter { [.rmsNorm, .matmul].contains($0) }
      }
    }
    let normed = [[OpKind.rmsNorm, .matmul], [.rmsNorm, .matmul], [.rmsNorm, .matmul]]
    let apart = [[OpKind.rmsNorm], [.matmul], [.matmul], [.matmul]]
    #expect(try kernels() == (rows < TiledQuantizedMatmul.tile ? normed : apart))
    target.fusesNormsIntoProducts = false
    #expect(try kernels() == apart)
    var generator = SeededRandom(seed: 31)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)
    for device in Self.interpreters {
      for (actual, wanted) in zip(try device.compile(graph).run(inputs: inputs), expected) {
        #expect(TestSupport.toleranceRatio(actual, wanted, atol: 2e-4, rtol: 2e-4) <= 1, "\(actual.preview())")
      }
    }
  }

  @Test(
    "prefill shapes take the tiled kernel, one row of x the per-output one",
    arguments: [TiledQuantizedMatmul.tile - 1, TiledQuantizedMatmul.tile, 100])
  func tiledFromOneTileOfRows(rows: Int) throws {
    let graph = try TestSupport.parseOne(Self.text(.q4_1, Case(rows: [rows], k: 64, n: 40)))
    let target = TargetCapabilities.everything("vulkan", matmulsReadQuantizedWeights: true, subgroupSize: 8)
    let kernel = try #require(try GraphCompiler.compile(graph, target: target).steps.compactMap(\.call).first).kernel
    let tiled = KIRPrinter.print(kernel).contains("xTile")
    #expect(tiled == (rows >= TiledQuantizedMatmul.tile))
  }

  @Test("KIR interpreter, with and without subgroups", arguments: [DType.q4_1, .q8_0, .f16, .bf16], cases)
  func interpreter(dtype: DType, shape: Case) throws {
    for device in Self.interpreters { try Self.check(device, dtype, shape) }
  }

  @Test(
    "the kernels sum with subgroup_add exactly where the target has subgroups",
    arguments: [nil, 8, 32])
  func subgroupSumsWhereTheTargetHasThem(subgroupSize: Int?) throws {
    let graph = try TestSupport.parseOne(Self.text(.q4_1, Self.cases[0]))
    let target = TargetCapabilities.everything("vulkan", matmulsReadQuantizedWeights: true, subgroupSize: subgroupSize)
    let kernel = try #require(try GraphCompiler.compile(graph, target: target).steps.compactMap(\.call).first).kernel
    let printed = KIRPrinter.print(kernel)
    #expect(printed.contains("subgroup_add") == (subgroupSize != nil))
    #expect(printed.contains("barrier") == (subgroupSize == nil))
    #expect(kernel.workgroupSize[0] == subgroupSize ?? 32)
  }

  @Test(
    "x is loaded a chunk at a time where it is a buffer, element by element where it is a constant",
    arguments: [false, true])
  func xIsReadInChunks(constantX: Bool) throws {
    var c = Self.cases[0]
    c.constantX = constantX
    let graph = try TestSupport.parseOne(Self.text(.q4_1, c))
    let target = TargetCapabilities.everything("vulkan", matmulsReadQuantizedWeights: true, subgroupSize: 8)
    let kernel = try #require(try GraphCompiler.compile(graph, target: target).steps.compactMap(\.call).first).kernel
    let vectorLoads = KIRPrinter.print(kernel).split(separator: "\n").filter {
      $0.contains("= load in") && $0.hasSuffix(": f32x8")
    }
    #expect(vectorLoads.count == (constantX ? 0 : 1), "\(vectorLoads)")
  }

  @Test(
    "the compiled plans read w in place",
    arguments: [OpenCLDevice.compileTarget, VulkanDevice.compileTarget].map(\.capabilities), [DType.q4_1, .f16])
  func plansReadTheWeight(target: TargetCapabilities, dtype: DType) throws {
    let graph = try TestSupport.parseOne(Self.text(dtype, Self.cases[0]))
    let plan = try GraphCompiler.compile(graph, target: target)
    #expect(plan.steps.count == 1)
    #expect(
      !plan.steps.contains { $0.group.nodes.contains { [.dequantize, .cast].contains(plan.graph.nodes[$0].kind) } })
  }
}
