import Foundation

/// Measures a device's kernel launch shapes on the device itself and picks the fastest, as
/// tinygrad's BEAM search does for its kernels (`tessera tune`). Two families: the quantized
/// matmul (``QuantizedMatmulTuning``: every candidate multiplies the same decode-sized matrices)
/// and, where the device stages its large products, the staged matmul (``MatmulTiling``: every
/// candidate computes the same prefill-sized f32 products). Each candidate is checked against the
/// reference evaluator (a shape whose results leave the numerics contract's tolerance is
/// rejected, never chosen), and timed by the device's own kernel timers where it has them, else
/// by the wall clock.
public struct KernelTuner: Sendable {
  /// One weight matrix the search multiplies by: `rows × columns` of a block type, times a
  /// vector (decode) of `columns`.
  public struct Matrix: Hashable, Sendable, CustomStringConvertible {
    /// Rows of the weight (outputs).
    public var rows: Int
    /// Columns of the weight (the vector's length): a multiple of the block size.
    public var columns: Int
    /// The block type.
    public var dtype: DType

    /// A matrix.
    public init(rows: Int, columns: Int, dtype: DType) {
      self.rows = rows
      self.columns = columns
      self.dtype = dtype
    }

    /// `q4_1[1536,576]`.
    public var description: String { "\(dtype)[\(rows),\(columns)]" }
  }

  /// A shape's time: seconds per run of all the problems (the fastest of the timed runs, the
  /// figure least disturbed by other work on the machine).
  public struct Measurement<Shape: Hashable & Sendable>: Sendable {
    /// The shape (`nil`: the device's untuned default).
    public var shape: Shape?
    /// Seconds per run of every problem; `nil` when the shape was rejected.
    public var seconds: Double?
    /// Why the shape was rejected (results outside the tolerance, or a failed compile or run).
    public var rejection: String?
  }

  /// What a search found: every measurement (the default first) and the shape to keep.
  public struct Outcome<Shape: Hashable & Sendable>: Sendable {
    /// The default shape's measurement, then each candidate's in the order tried.
    public var measurements: [Measurement<Shape>]
    /// The fastest shape when it beats the default; `nil` (the default) otherwise.
    public var chosen: Shape?

    /// The default's seconds divided by the chosen shape's (1 when the default is kept).
    public var speedup: Double {
      guard let base = measurements.first?.seconds, let chosen,
        let best = measurements.first(where: { $0.shape == chosen })?.seconds, best > 0
      else { return 1 }
      return base / best
    }
  }

  /// One f32 product the staged matmul's search multiplies: `[m, k] x [k, n]`.
  public struct Product: Hashable, Sendable, CustomStringConvertible {
    /// Rows of the result.
    public var m: Int
    /// Columns of the result.
    public var n: Int
    /// The shared dimension.
    public var k: Int

    /// A product.
    public init(m: Int, n: Int, k: Int) {
      self.m = m
      self.n = n
      self.k = k
    }

    /// `128x1536x576` (m x n x k).
    public var description: String { "\(m)x\(n)x\(k)" }
  }

  /// SmolLM2-135M's decode matrices: attention (576 × 576) and the feed-forward pair
  /// (1536 × 576, 576 × 1536), as Q4_1.
  public static let decodeMatrices = [
    Matrix(rows: 576, columns: 576, dtype: .q4_1), Matrix(rows: 1536, columns: 576, dtype: .q4_1),
    Matrix(rows: 576, columns: 1536, dtype: .q4_1),
  ]

  /// A square product and a prefill's (128 tokens through SmolLM2's gate or up weight).
  public static let prefillProducts = [Product(m: 512, n: 512, k: 512), Product(m: 128, n: 1536, k: 576)]

  /// The matrices each quantized matmul shape multiplies by.
  public var matrices: [Matrix]
  /// The products each staged matmul tiling computes.
  public var products: [Product]
  /// Timed runs per problem and shape (after one untimed run that is checked).
  public var repeats: Int
  /// The staged matmul tilings to measure besides the default, where they fit the device;
  /// `nil`: every one of ``MatmulTiling/searched`` that fits.
  public var stagedCandidates: [MatmulTiling]?

  /// A search over `matrices` (the quantized matmul) and `products` (the staged matmul),
  /// timing each shape `repeats` times.
  public init(
    matrices: [Matrix] = KernelTuner.decodeMatrices, products: [Product] = KernelTuner.prefillProducts,
    repeats: Int = 5
  ) {
    self.matrices = matrices
    self.products = products
    self.repeats = max(1, repeats)
  }

  /// Measures the default shape and every other
  /// ``QuantizedMatmulTuning/candidates(subgroupSize:maxWorkgroupSize:)`` on `device`, in
  /// ``passes`` passes over all of them (each shape's fastest pass counts, so that a slow
  /// moment of the machine does not decide), calling `progress(done, total)` after each
  /// measurement; the outcome's choice is the fastest accepted shape if it is faster than the
  /// default.
  public func tuneQuantizedMatmul(
    on device: any TunableDevice, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> Outcome<QuantizedMatmulTuning> {
    try search(
      quantizedShapes(on: device), on: device, problems: try matrices.map(Problem.init), family: "quantized matmul",
      tuning: { KernelTuning(quantizedMatmul: $0) }, progress: progress)
  }

  /// Measures the staged matmul's default tiling and every other
  /// ``MatmulTiling/candidates(among:maxWorkgroupSize:maxSharedBytes:)`` on `device` over
  /// ``products``, as ``tuneQuantizedMatmul(on:progress:)`` does; `nil` where the device does
  /// not stage its products (CPU drivers: ``TargetCapabilities/stagedMatmul``).
  public func tuneStagedMatmul(
    on device: any TunableDevice, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> Outcome<MatmulTiling>? {
    guard device.capabilities.stagedMatmul != nil else { return nil }
    return try search(
      stagedShapes(on: device), on: device, problems: try products.map(Problem.init), family: "staged matmul",
      tuning: { KernelTuning(stagedMatmul: $0) }, progress: progress)
  }

  /// Passes over the shapes.
  public static let passes = 2

  /// The quantized matmul shapes measured on `device`: `nil` (its untuned default) first, then
  /// every candidate but the default's own shape.
  public func quantizedShapes(on device: any TunableDevice) -> [QuantizedMatmulTuning?] {
    let untuned = QuantizedMatmulTuning.untuned(for: device.capabilities)
    let candidates = QuantizedMatmulTuning.candidates(
      subgroupSize: device.capabilities.subgroupSize, maxWorkgroupSize: device.maxWorkgroupSize)
    return [nil] + candidates.filter { $0 != untuned }
  }

  /// The staged matmul tilings measured on `device`: `nil` (its untuned default) first, then
  /// every candidate that fits the device but the default's own tiling; none where the device
  /// does not stage.
  public func stagedShapes(on device: any TunableDevice) -> [MatmulTiling?] {
    guard let untuned = device.capabilities.stagedMatmul else { return [] }
    let candidates = MatmulTiling.candidates(
      among: stagedCandidates ?? MatmulTiling.searched, maxWorkgroupSize: device.maxWorkgroupSize,
      maxSharedBytes: device.maxSharedMemoryBytes)
    return [nil] + candidates.filter { $0 != untuned }
  }

  /// Measures `shapes` (the first `nil`, the default) on `device` over `problems`; the fastest
  /// accepted shape is chosen when it beats the default.
  private func search<Shape: Hashable & Sendable>(
    _ shapes: [Shape?], on device: any TunableDevice, problems: [Problem], family: String,
    tuning: (Shape?) -> KernelTuning, progress: (Int, Int) -> Void
  ) throws -> Outcome<Shape> {
    var measurements = shapes.map { Measurement(shape: $0, seconds: nil, rejection: nil) }
    // Each shape is compiled and checked once, in the first pass; every pass times it.
    var compiled: [[CompiledGraph]] = Array(repeating: [], count: shapes.count)
    for pass in 0..<Self.passes {
      for (index, shape) in shapes.enumerated() {
        defer { progress(pass * shapes.count + index + 1, Self.passes * shapes.count) }
        guard measurements[index].rejection == nil else { continue }
        do {
          if pass == 0 { compiled[index] = try prepare(tuning(shape), on: device, problems) }
          let seconds = try time(compiled[index], problems)
          measurements[index].seconds = min(seconds, measurements[index].seconds ?? .infinity)
        } catch {
          measurements[index].seconds = nil
          measurements[index].rejection = (error as? Rejection)?.reason ?? "\(error)"
        }
      }
    }
    guard let base = measurements[0].seconds else {
      throw DeviceError.kernelFailed(
        kernel: family, message: "the default shape failed: \(measurements[0].rejection ?? "")")
    }
    let best = measurements.dropFirst().filter { $0.seconds != nil }.min { $0.seconds! < $1.seconds! }
    guard let best, best.seconds! < base else { return Outcome(measurements: measurements, chosen: nil) }
    return Outcome(measurements: measurements, chosen: best.shape)
  }

  /// One matrix's graph, inputs and the reference's result.
  private struct Problem {
    var graph: Graph
    var inputs: [Tensor]
    var expected: Tensor

    init(_ matrix: Matrix) throws {
      let (n, k) = (matrix.rows, matrix.columns)
      let text = """
        func @tune(%x: f32[1,\(k)], %w: \(matrix.dtype)[\(n),\(k)]) -> f32[1,\(n)] {
          %d = dequantize %w : f32[\(n),\(k)]
          %t = transpose %d {perm = [1, 0]} : f32[\(k),\(n)]
          %y = matmul %x, %t : f32[1,\(n)]
          return %y
        }
        """
      try self.init(text)
    }

    init(_ product: Product) throws {
      let (m, n, k) = (product.m, product.n, product.k)
      try self.init(
        """
        func @tune(%a: f32[\(m),\(k)], %b: f32[\(k),\(n)]) -> f32[\(m),\(n)] {
          %c = matmul %a, %b : f32[\(m),\(n)]
          return %c
        }
        """)
    }

    private init(_ text: String) throws {
      graph = try Parser.parse(text, file: "tune.tir").functions[0]
      var generator = SeededRandom(seed: 41)
      inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
      expected = try ReferenceEvaluator.evaluate(graph, inputs: inputs)[0]
    }
  }

  /// Why a shape's results were rejected.
  private struct Rejection: Error {
    var reason: String
  }

  /// `problems` compiled for `device` with `tuning` (a shape, or none: the default), each run once and
  /// checked against the reference; throws a ``Rejection`` when a result leaves the tolerance.
  private func prepare(_ tuning: KernelTuning, on device: any TunableDevice, _ problems: [Problem]) throws
    -> [CompiledGraph]
  {
    let tuned = try device.tuned(tuning)
    return try problems.map { problem in
      let compiled = try tuned.compile(problem.graph)
      let result = try compiled.run(inputs: problem.inputs)[0]
      if let difference = Self.outsideTolerance(result, problem.expected) { throw Rejection(reason: difference) }
      return compiled
    }
  }

  /// Seconds per run of every problem, each the fastest of ``repeats`` timed runs.
  private func time(_ compiled: [CompiledGraph], _ problems: [Problem]) throws -> Double {
    try zip(compiled, problems).reduce(0) { total, pair in
      var times: [Double] = []
      for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        let kernels = try pair.0.profile(inputs: pair.1.inputs)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        times.append(kernels.map { $0.reduce(0) { $0 + $1.seconds } } ?? wall)
      }
      return total + times.min()!
    }
  }

  /// A description of the worst element when `actual` leaves the quantized matmul's tolerance
  /// around `expected` (2e-4 absolute plus 2e-4 relative, as the device tests check); `nil`
  /// when every element is within it.
  static func outsideTolerance(_ actual: Tensor, _ expected: Tensor) -> String? {
    guard actual.type == expected.type else { return "the result is \(actual.type), not \(expected.type)" }
    for (index, (a, b)) in zip(actual.floats, expected.floats).enumerated()
    where !(abs(Double(a) - Double(b)) <= 2e-4 + 2e-4 * abs(Double(b))) {
      return "element \(index) is \(a), the reference's \(b)"
    }
    return nil
  }
}
