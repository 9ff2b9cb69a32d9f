import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// The `cpu` device's native routes (row kernels for library softmax / rms_norm / rope, the
/// quantized matmul for dequantized weights) against the reference evaluator.
@Suite("Native routes of the cpu device vs the reference evaluator")
struct NativeRouteTests {
  /// Compiles `text` for the cpu device with the kernel library, checks how many steps take each
  /// route, runs it on random inputs and compares with the reference evaluator.
  static func check(
    _ text: String, threads: Int, rows: Int = 0, quantized: Int = 0, precision: QuantizedPrecision = .f32Activations,
    atol: Double, rtol: Double
  ) throws -> (actual: [Tensor], expected: [Tensor]) {
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(
      library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads), quantizedPrecision: precision)
    let routes = try device.routes(for: graph)
    #expect(routes.count { if case .rows = $0 { true } else { false } } == rows, "row-kernel steps")
    #expect(
      routes.count {
        if case .native(let matmul) = $0, case .quantized = matmul.weights { true } else { false }
      } == quantized, "quantized matmul steps")
    var generator = SeededRandom(seed: 41)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 9, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)
    let actual = try device.compile(graph).run(inputs: inputs)
    for (a, e) in zip(actual, expected) {
      #expect(a.type == e.type)
      #expect(TestSupport.toleranceRatio(a, e, atol: atol, rtol: rtol) <= 1, "\(a.preview()) vs \(e.preview())")
    }
    return (actual, expected)
  }

  /// The graph in `text`, a cpu device with the kernel library on `threads` threads, and how each
  /// step of its plan runs.
  static func routes(_ text: String, threads: Int) throws -> (
    graph: Graph, device: CPUDevice, routes: [CPUPlanBackend.Action]
  ) {
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: threads))
    return (graph, device, try device.routes(for: graph))
  }

  static let rowCases = [
    "%x: f32[1,1] | f32[1,1] | softmax %x {axis = -1}",
    "%x: f32[3,17] | f32[3,17] | softmax %x {axis = 1}",
    "%x: f32[2,5,33] | f32[2,5,33] | softmax %x {axis = -1}",
    "%x: f32[3,17], %g: f32[17] | f32[3,17] | rms_norm %x, %g {epsilon = 1.0e-05}",
    "%x: f32[2,4,33], %g: f32[33] | f32[2,4,33] | rms_norm %x, %g",
    "%x: f32[5,6], %p: i32[5] | f32[5,6] | rope %x, %p {theta = 10000.0}",
    "%x: f32[7,3,10], %p: i32[7] | f32[7,3,10] | rope %x, %p {mode = neox, theta = 500.0}",
    "%x: f32[2,3,2,8], %p: i32[3] | f32[2,3,2,8] | rope %x, %p",
    "%x: f32[3,17], %g: f32[17], %b: f32[17] | f32[3,17] | layer_norm %x, %g, %b {axis = -1, epsilon = 1.0e-12}",
    "%x: f32[2,4,33] | f32[2,4,33] | layer_norm %x {axis = -1}",
    "%x: f32[2,5,40], %g: f32[40] | f32[2,5,40] | layer_norm %x, %g {axis = 2, epsilon = 0.001}",
  ]

  @Test(
    "softmax, rms_norm, layer_norm and rope library groups run on the row kernels", arguments: rowCases, threadCounts)
  func rowKernels(spec: String, threads: Int) throws {
    let parts = spec.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
    let text = "func @f(\(parts[0])) -> \(parts[1]) {\n  %y = \(parts[2]) : \(parts[1])\n  return %y\n}"
    _ = try Self.check(text, threads: threads, rows: 1, atol: 2e-5, rtol: 2e-5)
  }

  static let matmulCases = [
    """
    func @f(%x: f32[3,64], %w: q4_0[33,64]) -> f32[3,33] {
      %d = dequantize %w : f32[33,64]
      %t = transpose %d : f32[64,33]
      %y = matmul %x, %t : f32[3,33]
      return %y
    }
    """,
    """
    func @f(%x: f32[1,96], %w: q4_1[7,96], %b: f32[7]) -> f32[1,7] {
      %d = dequantize %w : f32[7,96]
      %t = transpose %d {perm = [1, 0]} : f32[96,7]
      %y = matmul %x, %t : f32[1,7]
      %z = add %y, %b : f32[1,7]
      %s = silu %z : f32[1,7]
      return %s
    }
    """,
    """
    func @f(%x: f32[2,9,160], %w: q8_0[70,160]) -> f32[2,9,70] {
      %d = dequantize %w : f32[70,160]
      %t = transpose %d : f32[160,70]
      %y = matmul %x, %t : f32[2,9,70]
      %r = relu %y : f32[2,9,70]
      return %r
    }
    """,
    """
    func @f(%x: f32[1,576], %w: q4_1[130,576]) -> f32[1,130] {
      %d = dequantize %w : f32[130,576]
      %t = transpose %d : f32[576,130]
      %y = matmul %x, %t : f32[1,130]
      return %y
    }
    """,
    """
    func @f(%x: f32[5,40], %w: q8_0[40,64]) -> f32[5,64] {
      %t = dequantize %w : f32[40,64]
      %y = matmul %x, %t : f32[5,64]
      return %y
    }
    """,
    """
    func @f(%x: f32[4,17], %w: q4_0[17,96]) -> (f32[4,96], f32[17,96]) {
      %t = dequantize %w : f32[17,96]
      %y = matmul %x, %t : f32[4,96]
      return %y, %t
    }
    """,
  ]

  @Test("matmuls against dequantized weights run on the quantized matmul", arguments: matmulCases, threadCounts)
  func quantizedMatmul(text: String, threads: Int) throws {
    _ = try Self.check(text, threads: threads, quantized: 1, atol: 1e-4, rtol: 1e-4)
  }

  /// Decode attention's shape: scores against a transposed input (column-major B) and the
  /// weighted sum of its values (row-major B with a row stride), `rows` query rows per head of
  /// width `d`.
  static func cacheAttention(rows: Int, d: Int) -> String {
    """
    func @f(%q: f32[3,\(rows),\(d)], %c: f32[7,\(3 * d)]) -> (f32[3,\(rows),\(d)], f32[3,\(rows),7]) {
      %r = reshape %c {shape = [7, 3, \(d)]} : f32[7,3,\(d)]
      %kt = transpose %r {perm = [1, 2, 0]} : f32[3,\(d),7]
      %s = matmul %q, %kt : f32[3,\(rows),7]
      %h = constant 0.25 : f32[]
      %t = mul %s, %h : f32[3,\(rows),7]
      %vt = transpose %r {perm = [1, 0, 2]} : f32[3,7,\(d)]
      %o = matmul %t, %vt : f32[3,\(rows),\(d)]
      return %o, %t
    }
    """
  }

  @Test(
    "matmuls read transposed views of an input in place, without a copy",
    arguments: [(3, 16, 2, 0), (1, 70, 2, 0), (4, 140, 2, 0), (5, 16, 1, 1)], threadCounts)
  func inputViews(shape: (rows: Int, d: Int, views: Int, copies: Int), threads: Int) throws {
    let text = Self.cacheAttention(rows: shape.rows, d: shape.d)
    let (_, _, routes) = try Self.routes(text, threads: threads)
    let views = routes.count {
      if case .native(let matmul) = $0, case .f32View = matmul.weights { true } else { false }
    }
    #expect(views == shape.views, "matmuls reading a view")
    #expect(routes.count { if case .strided = $0 { true } else { false } } == shape.copies, "transpose copies")
    _ = try Self.check(text, threads: threads, atol: 1e-5, rtol: 1e-5)
  }

  @Test("the int8-activation mode is used only when the device asks for it", arguments: threadCounts)
  func int8Mode(threads: Int) throws {
    let (m, n, k) = (3, 33, 64)
    let text = Self.matmulCases[0]
    let graph = try TestSupport.parseOne(text)
    var generator = SeededRandom(seed: 41)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 9, using: &generator) }
    let pool = CPUThreadPool(threads: threads)
    let exact = try CPUDevice(library: StandardKernelLibrary(), pool: pool).compile(graph).run(inputs: inputs)[0]
    let int8 = try CPUDevice(library: StandardKernelLibrary(), pool: pool, quantizedPrecision: .int8Activations)
      .compile(graph).run(inputs: inputs)[0]
    // The int8 kernel itself is checked against an independent integer sum in QuantizedMatmulTests.
    let x = inputs[0].doubles.map(Float.init)
    var direct = [Float](repeating: 0, count: m * n)
    inputs[1].bytes.withUnsafeBytes { w in
      QuantizedMatmul.multiply(
        x: x, m: m, k: k, weights: w.baseAddress!, dtype: .q4_0, n: n, y: &direct, precision: .int8Activations)
    }
    #expect(int8.doubles.map(Float.init) == direct)
    #expect(int8.doubles != exact.doubles)
  }

  /// Matmul groups whose epilogue is a SwiGLU gate (`silu(other) * product`), a gate without an
  /// activation, an exact and a tanh GELU gate (Gemma's GeGLU), attention's scalar scale, a bias and GELU written out as `torch.onnx` writes it
  /// (`x · (erf(x / √2) + 1) · 0.5`), attention's division by a power of two and a mask
  /// `[1, 1, 1, n]`, or a bias and tanh (BERT's pooler) or sigmoid; each must take the native route and agree with the reference evaluator.
  static let epilogueCases: [(text: String, quantized: Int)] = [
    (
      """
      func @f(%x: f32[1,64], %g: q4_1[96,64], %u: q4_1[96,64]) -> f32[1,96] {
        %dg = dequantize %g : f32[96,64]
        %tg = transpose %dg : f32[64,96]
        %a = matmul %x, %tg : f32[1,96]
        %s = silu %a : f32[1,96]
        %du = dequantize %u : f32[96,64]
        %tu = transpose %du : f32[64,96]
        %b = matmul %x, %tu : f32[1,96]
        %y = mul %s, %b : f32[1,96]
        return %y
      }
      """, 2
    ),
    (
      """
      func @f(%x: f32[5,32], %w: f32[32,24], %v: f32[32,24]) -> f32[5,24] {
        %a = matmul %x, %v : f32[5,24]
        %s = gelu %a : f32[5,24]
        %b = matmul %x, %w : f32[5,24]
        %y = mul %b, %s : f32[5,24]
        return %y
      }
      """, 0
    ),
    (
      """
      func @f(%x: f32[5,32], %w: f32[32,24], %v: f32[32,24]) -> f32[5,24] {
        %a = matmul %x, %v : f32[5,24]
        %s = gelu %a {approximate = tanh} : f32[5,24]
        %b = matmul %x, %w : f32[5,24]
        %y = mul %b, %s : f32[5,24]
        return %y
      }
      """, 0
    ),
    (
      """
      func @f(%q: f32[3,3,64], %k: f32[3,64,7], %g: f32[3,3,7]) -> f32[3,3,7] {
        %s = matmul %q, %k : f32[3,3,7]
        %c = constant 0.125 : f32[]
        %y = mul %s, %c : f32[3,3,7]
        %z = mul %y, %g : f32[3,3,7]
        return %z
      }
      """, 0
    ),
    (
      """
      func @f(%x: f32[5,32], %w: f32[32,24], %b: f32[24]) -> f32[5,24] {
        %a = matmul %x, %w : f32[5,24]
        %h = add %a, %b : f32[5,24]
        %r = constant 1.4142135 : f32[]
        %d = div %h, %r : f32[5,24]
        %e = erf %d : f32[5,24]
        %one = constant 1.0 : f32[]
        %p = add %e, %one : f32[5,24]
        %m = mul %h, %p : f32[5,24]
        %half = constant 0.5 : f32[]
        %y = mul %m, %half : f32[5,24]
        return %y
      }
      """, 0
    ),
    (
      """
      func @f(%q: f32[2,3,5,16], %k: f32[2,3,16,5], %mask: f32[1,1,1,5]) -> f32[2,3,5,5] {
        %s = matmul %q, %k : f32[2,3,5,5]
        %c = constant 4.0 : f32[]
        %d = div %s, %c : f32[2,3,5,5]
        %y = add %d, %mask : f32[2,3,5,5]
        return %y
      }
      """, 0
    ),
    (
      """
      func @f(%x: f32[1,40], %w: f32[40,24], %b: f32[24]) -> f32[1,24] {
        %a = matmul %x, %w : f32[1,24]
        %h = add %a, %b : f32[1,24]
        %y = tanh %h : f32[1,24]
        return %y
      }
      """, 0
    ),
    (
      """
      func @f(%x: f32[4,40], %w: f32[40,24]) -> f32[4,24] {
        %a = matmul %x, %w : f32[4,24]
        %y = sigmoid %a : f32[4,24]
        return %y
      }
      """, 0
    ),
  ]

  @Test("gated and scaled matmul epilogues run natively", arguments: epilogueCases.indices, threadCounts)
  func gatedAndScaledEpilogues(index: Int, threads: Int) throws {
    let (text, quantized) = Self.epilogueCases[index]
    let (graph, device, routes) = try Self.routes(text, threads: threads)
    #expect(!routes.contains { if case .vector = $0 { true } else { false } }, "every step native")
    _ = try Self.check(text, threads: threads, quantized: quantized, atol: 1e-4, rtol: 1e-4)
    // A profiled run times each step under the name of the route it took.
    var generator = SeededRandom(seed: 3)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let timings = try #require(try device.compile(graph).profile(inputs: inputs))
    #expect(timings.count == routes.count)
    #expect(timings.allSatisfy { $0.kernel.hasPrefix("native matmul") && $0.seconds >= 0 })
  }

  /// Groups that read their operands through strided views, and whether each must take the
  /// strided route (integer arithmetic is not one of its operations: it stays a kernel).
  static let stridedCases: [(text: String, strided: Bool)] = [
    (
      """
      func @f(%x: f32[7,3,5]) -> f32[3,5,7] {
        %t = transpose %x {perm = [1, 2, 0]} : f32[3,5,7]
        return %t
      }
      """, true
    ),
    (
      """
      func @f(%x: f32[6,20]) -> f32[4,2,5] {
        %s = slice %x {start = [1, 3], end = [5, 13], step = [1, 2]} : f32[4,5]
        %b = broadcast %s {shape = [2, 4, 5]} : f32[2,4,5]
        %t = transpose %b {perm = [1, 0, 2]} : f32[4,2,5]
        return %t
      }
      """, true
    ),
    (
      """
      func @f(%m: bool[9,1], %k: f32[1,12], %c: f32[9,12]) -> f32[9,12] {
        %y = select %m, %k, %c : f32[9,12]
        return %y
      }
      """, true
    ),
    (
      """
      func @f(%m: bool[4,6], %s: f32[2,4,6]) -> f32[2,4,6] {
        %n = constant -1.0e+30 : f32[]
        %y = select %m, %s, %n : f32[2,4,6]
        return %y
      }
      """, true
    ),
    (
      """
      func @f(%a: f32[5,1,8], %b: f32[3,8]) -> f32[5,3,8] {
        %t = transpose %b {perm = [0, 1]} : f32[3,8]
        %y = div %a, %t : f32[5,3,8]
        return %y
      }
      """, true
    ),
    (
      """
      func @f(%x: i32[4,6]) -> i32[6,4] {
        %t = transpose %x : i32[6,4]
        return %t
      }
      """, true
    ),
    (
      """
      func @f(%a: i32[4,6], %b: i32[4,6]) -> i32[4,6] {
        %y = add %a, %b : i32[4,6]
        return %y
      }
      """, false
    ),
    (
      """
      func @f(%a: f32[3,2,1,7], %b: f32[3,2,1,1]) -> f32[3,2,1,8] {
        %y = concat %a, %b {axis = -1} : f32[3,2,1,8]
        return %y
      }
      """, true
    ),
    (
      """
      func @f(%a: f32[2,5], %b: f32[3,5], %c: f32[5,4]) -> f32[6,5] {
        %t = transpose %c : f32[4,5]
        %y = concat %a, %t, %b {axis = 0} : f32[9,5]
        %s = slice %y {start = [1, 0], end = [7, 5]} : f32[6,5]
        return %s
      }
      """, true
    ),
    // A squeeze-and-excitation multiply: its axes coalesce into 6 rows of 99, the gate a
    // broadcast scalar per row.
    (
      """
      func @f(%x: f32[1,6,9,11], %g: f32[1,6,1,1]) -> f32[1,6,9,11] {
        %y = mul %x, %g : f32[1,6,9,11]
        return %y
      }
      """, true
    ),
    // A scalar on the left of a subtraction.
    (
      """
      func @f(%s: f32[1,1,1], %x: f32[2,3,5]) -> f32[2,3,5] {
        %y = sub %s, %x : f32[2,3,5]
        return %y
      }
      """, true
    ),
    // Contiguous operands coalesce into one row of 12 300, cut into pieces across the threads.
    (
      """
      func @f(%a: f32[3,4100], %b: f32[3,4100]) -> f32[3,4100] {
        %y = add %a, %b : f32[3,4100]
        return %y
      }
      """, true
    ),
    // Two rows of 8 200 (two pieces each on several threads), the right operand read with a
    // stride of 2 through a transpose.
    (
      """
      func @f(%a: f32[2,8200], %b: f32[8200,2]) -> f32[2,8200] {
        %t = transpose %b : f32[2,8200]
        %y = mul %a, %t : f32[2,8200]
        return %y
      }
      """, true
    ),
    (
      """
      func @f(%a: i32[2,3,4], %b: i32[2,1,4]) -> i32[2,4,4] {
        %y = concat %a, %b {axis = 1} : i32[2,4,4]
        return %y
      }
      """, true
    ),
  ]

  @Test("movement, select and binary groups read through strided views", arguments: stridedCases.indices, threadCounts)
  func stridedGroups(index: Int, threads: Int) throws {
    let (text, strided) = Self.stridedCases[index]
    let routes = try Self.routes(text, threads: threads).routes
    #expect(routes.contains { if case .strided = $0 { true } else { false } } == strided)
    let (actual, expected) = try Self.check(text, threads: threads, atol: 0, rtol: 0)
    #expect(actual.map(\.bytes) == expected.map(\.bytes))
  }
}
