import Foundation
import Tessera

/// The `cpu` backend's suites: SGEMM against numpy/OpenBLAS, quantized matvec bandwidth against
/// numpy streaming the same bytes, and the vectorised KIR executor against the KIR interpreter,
/// each peer measured in the same run.
/// One SGEMM's sizes: C is `m × n`, the depth `k`.
struct GEMMShape {
  var m: Int, n: Int, k: Int

  /// `MxNxK`, or the one size of a square product.
  var name: String { m == n && n == k ? "\(m)" : "\(m)x\(n)x\(k)" }
}

enum CPUBenchmark {
  /// One measured row for the table and the JSON file.
  struct Row: Codable {
    var suite: String, name: String, threads: Int, value: Double, unit: String
    var peer: Double?, peerName: String, ratio: Double?
  }

  /// SGEMM of each shape at each thread count vs numpy with the same thread count.
  static func gemm(shapes: [GEMMShape], threads: [Int], repeats: Int) -> [Row] {
    var rows: [Row] = []
    print("SGEMM f32, best of \(repeats); peer: numpy/OpenBLAS (OPENBLAS_NUM_THREADS = threads) in the same run")
    print(
      String(
        format: "SHAPE (MxNxK)   THREADS  TESSERA GFLOP/s  NUMPY GFLOP/s  RATIO   %%PEAK(%.0f/core, measured)",
        FMAPeak.perCore))
    for shape in shapes {
      let (m, n, k) = (shape.m, shape.n, shape.k)
      var generator = SeededRandom(seed: 1)
      let a = (0..<(m * k)).map { _ in Float.random(in: -1..<1, using: &generator) }
      let b = (0..<(k * n)).map { _ in Float.random(in: -1..<1, using: &generator) }
      var c = [Float](repeating: 0, count: m * n)
      for count in threads {
        let pool = CPUThreadPool(threads: count)
        let seconds = bestTime(repeats) {
          SGEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n, pool: pool)
        }
        let ours = 2 * Double(m * n * k) / seconds / 1e9
        let peer = Peer.numpyGEMM(shape, threads: count, repeats: repeats)
        let row = Row(
          suite: "gemm", name: shape.name, threads: count, value: ours, unit: "GFLOP/s", peer: peer,
          peerName: "numpy/OpenBLAS", ratio: peer.map { ours / $0 })
        rows.append(row)
        print(
          shape.name.padding(toLength: 15, withPad: " ", startingAt: 0)
            + String(
              format: " %7d  %15.1f  %13@  %6@  %5.1f%%", count, ours, Peer.text(peer), Peer.ratioText(row.ratio),
              100 * ours / (FMAPeak.perCore * Double(count))))
      }
    }
    return rows
  }

  /// Quantized matvec (decode) at LLM shapes and over a whole model's decode matrices, GB/s of
  /// weights streamed in each ``QuantMode``, vs numpy reducing an f32 array of the same byte size on
  /// the same number of threads (the machine's read bandwidth at that size).
  static func quant(threads: [Int], repeats: Int) -> [Row] {
    var rows: [Row] = []
    print("quantized matvec y = W·x (W n×k, k contracted), GB/s of weights streamed, best of \(repeats * 3)")
    print("MODE: activations (f32/int8) and weight layout (gguf rows, or 4-row tiles repacked from them)")
    print("peer: \(Peer.streamName), over the same bytes, same run")
    print(quantHeader)
    for dtype in [DType.q4_0, .q4_1, .q8_0] {
      for (k, n) in [(576, 192), (576, 1536), (1536, 576), (576, 49152)] {
        var generator = SeededRandom(seed: 2)
        let weights = QuantWeights(dtype: dtype, shapes: [(n, k)], using: &generator)
        rows += quant([weights], shape: "\(n)x\(k)", threads: threads, repeats: repeats)
      }
    }
    let layer = [(576, 576), (192, 576), (192, 576), (576, 576), (1536, 576), (1536, 576), (576, 1536)]
    let megabytes = [DType.q4_0, .q4_1].map { dtype in
      let bytes = 30 * layer.reduce(0) { $0 + TensorType(dtype, [$1.0, $1.1]).storageBytes! }
      return String(format: "%.1f MB %@", Double(bytes) / 1e6, "\(dtype)")
    }
    print("\nmodel stack: SmolLM2-135M decode matrices (n×k) × 30 layers, \(megabytes.joined(separator: ", "))")
    print("q 576x576, k 192x576, v 192x576, o 576x576, gate 1536x576, up 1536x576, down 576x1536;")
    print("each layer one allocation; one pass = every matrix once, in order")
    print(quantHeader)
    for dtype in [DType.q4_0, .q4_1] {
      var generator = SeededRandom(seed: 4)
      let layers = (0..<30).map { _ in QuantWeights(dtype: dtype, shapes: layer, using: &generator) }
      rows += quant(layers, shape: "SmolLM2 stack", threads: threads, repeats: repeats)
    }
    return rows
  }

  /// The quantized matmuls of a prefill: one SmolLM2-135M layer's matrices (q4_1 and q8_0) times
  /// `rows` activation rows in each ``QuantMode``, GFLOP/s, vs numpy/OpenBLAS multiplying the same
  /// shapes with f32 weights on as many threads (what the prefill would cost with the weights
  /// dequantized ahead of time).
  static func prefill(rows m: Int, threads: [Int], repeats: Int) -> [Row] {
    let layer = [(576, 576), (192, 576), (192, 576), (576, 576), (1536, 576), (1536, 576), (576, 1536)]
    let flops = 2 * Double(m) * Double(layer.reduce(0) { $0 + $1.0 * $1.1 })
    print(
      "quantized matmuls y = x·Wᵀ of one SmolLM2-135M layer (n×k: \(layer.map { "\($0.0)x\($0.1)" }.joined(separator: ", "))),"
    )
    print("x \(m) rows; GFLOP/s, best of \(repeats); peer: numpy/OpenBLAS x @ W.T on the same shapes in f32, same run")
    print("TYPE   THREADS  MODE        TESSERA GFLOP/s  NUMPY GFLOP/s  RATIO")
    var rows: [Row] = []
    var generator = SeededRandom(seed: 5)
    let x = (0..<(m * 1536)).map { _ in Float.random(in: -1..<1, using: &generator) }
    var y = [Float](repeating: 0, count: m * 1536)
    for count in threads {
      let pool = CPUThreadPool(threads: count)
      let peer = Peer.numpyMatmuls(rows: m, shapes: layer, threads: count, repeats: repeats)
      for dtype in [DType.q4_1, .q8_0] {
        let weights = QuantWeights(dtype: dtype, shapes: layer, using: &generator)
        for mode in QuantMode.modes(for: dtype) {
          let seconds = y.withUnsafeMutableBufferPointer { y in
            bestTime(repeats) { weights.multiplyAll(x: x, m: m, y: y.baseAddress!, mode: mode, pool: pool) }
          }
          let ours = flops / seconds / 1e9
          let row = Row(
            suite: "prefill", name: "\(dtype) \(mode.label)", threads: count, value: ours, unit: "GFLOP/s",
            peer: peer, peerName: "numpy/OpenBLAS f32", ratio: peer.map { ours / $0 })
          rows.append(row)
          print(
            padded("\(dtype)", 6) + String(format: " %7d  ", count) + padded(mode.label, 10)
              + String(format: "  %15.1f  ", ours) + padded(Peer.text(peer), 13, right: true) + "  "
              + padded(Peer.ratioText(row.ratio), 6, right: true))
        }
      }
    }
    return rows
  }

  /// The column heads of the `quant` suite's tables.
  private static let quantHeader = "TYPE   N×K            THREADS  MODE        TESSERA GB/s  NUMPY GB/s  RATIO"

  /// Times one pass over `layers` (each of their matrices once, in order) in every mode of their
  /// dtype at each thread count, against ``Peer/numpyStream(bytes:threads:repeats:)`` over as many
  /// bytes on as many threads; prints and returns one row per mode and thread count.
  private static func quant(_ layers: [QuantWeights], shape: String, threads: [Int], repeats: Int) -> [Row] {
    let dtype = layers[0].dtype, bytes = layers.reduce(0) { $0 + $1.byteCount }
    var generator = SeededRandom(seed: 3)
    let x = (0..<layers.map(\.largest.k).max()!).map { _ in Float.random(in: -1..<1, using: &generator) }
    var y = [Float](repeating: 0, count: layers.map(\.largest.n).max()!)
    var rows: [Row] = []
    for count in threads {
      let pool = CPUThreadPool(threads: count)
      let peer = Peer.numpyStream(bytes: bytes, threads: count, repeats: repeats * 3)
      for mode in QuantMode.modes(for: dtype) {
        let seconds = y.withUnsafeMutableBufferPointer { y in
          bestTime(repeats * 3) {
            for layer in layers { layer.multiplyAll(x: x, y: y.baseAddress!, mode: mode, pool: pool) }
          }
        }
        let ours = Double(bytes) / seconds / 1e9
        let row = Row(
          suite: "quant", name: "\(dtype) \(shape) \(mode.label)", threads: count, value: ours, unit: "GB/s",
          peer: peer, peerName: Peer.streamName, ratio: peer.map { ours / $0 })
        rows.append(row)
        // `%-6@` does not pad on Linux Foundation, so the text columns are padded here.
        print(
          padded("\(dtype)", 6) + " " + padded(shape, 14) + String(format: " %7d  ", count) + padded(mode.label, 10)
            + String(format: "  %12.2f  ", ours) + padded(Peer.text(peer), 10, right: true) + "  "
            + padded(Peer.ratioText(row.ratio), 6, right: true))
      }
    }
    return rows
  }

  /// `text` padded with spaces to `width` characters, on the right (left-aligned) or, with
  /// `right`, on the left.
  private static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
  }

  /// A fused elementwise + reduction graph on the `cpu` device vs the `kir` interpreter device.
  static func ops(threads: [Int], repeats: Int) throws -> [Row] {
    let text = """
      func @f(%x: f32[64,256], %b: f32[256]) -> f32[64,1] {
        %y = add %x, %b : f32[64,256]
        %s = silu %y : f32[64,256]
        %m = reduce_sum %s {axes = [1], keepdims = true} : f32[64,1]
        return %m
      }
      """
    let graph = try Parser.parse(text, file: "bench.tir").functions[0]
    var generator = SeededRandom(seed: 3)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let interpreter = try KIRDevice().compile(graph)
    let peerSeconds = try bestTime(1) { _ = try interpreter.run(inputs: inputs) }
    var rows: [Row] = []
    print("fused elementwise + reduction (64×256), cpu device vs the KIR interpreter (kir), same run")
    print("THREADS  CPU ms    KIR ms    SPEEDUP")
    for count in threads {
      let compiled = try CPUDevice(pool: CPUThreadPool(threads: count)).compile(graph)
      let seconds = try bestTime(repeats) { _ = try compiled.run(inputs: inputs) }
      rows.append(
        Row(
          suite: "ops", name: "silu+reduce 64x256", threads: count, value: seconds * 1e3, unit: "ms",
          peer: peerSeconds * 1e3,
          peerName: "kir interpreter", ratio: peerSeconds / seconds))
      print(String(format: "%7d  %8.3f  %8.1f  %7.1f×", count, seconds * 1e3, peerSeconds * 1e3, peerSeconds / seconds))
    }
    return rows
  }

  /// Writes rows as JSON.
  static func write(_ rows: [Row], to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(rows).write(to: URL(fileURLWithPath: path))
  }
}

/// Peers run through python3 in the same process tree, with their thread count pinned and the
/// machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE overrides removed for that command only.
enum Peer {
  static func text(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "n/a" }
  static func ratioText(_ value: Double?) -> String { value.map { String(format: "%.2f×", $0) } ?? "-" }

  /// GFLOP/s of numpy's `a @ b` for `a` m×k and `b` k×n in f32, best of `repeats`.
  static func numpyGEMM(_ shape: GEMMShape, threads: Int, repeats: Int) -> Double? {
    let (m, n, k) = (shape.m, shape.n, shape.k)
    return python(
      """
      import time, numpy as np
      a = np.random.rand(\(m), \(k)).astype(np.float32); b = np.random.rand(\(k), \(n)).astype(np.float32)
      a @ b
      best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(\(repeats)))
      print(2 * \(m) * \(n) * \(k) / best / 1e9)
      """, threads: threads)
  }

  /// GFLOP/s of `x @ W.T` for each `(n, k)` of `shapes` in turn, x `rows × k` and W `n × k` in f32,
  /// best of `repeats` passes over all of them.
  static func numpyMatmuls(rows: Int, shapes: [(Int, Int)], threads: Int, repeats: Int) -> Double? {
    let list = shapes.map { "(\($0.0), \($0.1))" }.joined(separator: ", ")
    return python(
      """
      import time, numpy as np
      shapes = [\(list)]
      pairs = [(np.random.rand(\(rows), k).astype(np.float32), np.random.rand(n, k).astype(np.float32)) for n, k in shapes]
      run = lambda: [x @ w.T for x, w in pairs]
      run()
      best = min((lambda t: (run(), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(\(repeats)))
      print(sum(2 * \(rows) * n * k for n, k in shapes) / best / 1e9)
      """, threads: threads)
  }

  /// What ``numpyStream(bytes:threads:repeats:)`` measures, for headers and rows.
  static let streamName = "numpy f32 max, array split into THREADS chunks on a ThreadPoolExecutor(THREADS)"

  /// Read bandwidth in GB/s at `bytes`: an f32 array of that size split into `threads` contiguous
  /// chunks, each reduced with `np.max` on its own `ThreadPoolExecutor` worker (numpy releases the
  /// GIL inside the reduction), best of `repeats`. `max`, not `sum`: numpy's f32 sum is
  /// compute-bound near 24 GB/s per core even in cache, below one core's memory stream, while
  /// its vectorised max is not. Arrays under 64 MiB are reduced several times per timing, each
  /// chunk as one stride-0 view of the passes, so the passes are one call per worker and Python's
  /// dispatch stays out of the time at cache-resident sizes.
  static func numpyStream(bytes: Int, threads: Int, repeats: Int) -> Double? {
    let passes = max(1, ((64 << 20) + bytes - 1) / bytes)
    return python(
      """
      import time, numpy as np, concurrent.futures as cf
      from numpy.lib.stride_tricks import as_strided
      a = np.random.rand(\(max(1, bytes / 4))).astype(np.float32)
      views = [as_strided(c, shape=(\(passes), c.size), strides=(0, c.strides[0])) for c in np.array_split(a, \(threads))]
      with cf.ThreadPoolExecutor(\(threads)) as pool:
          run = lambda: list(pool.map(np.max, views))
          run()
          best = min((lambda t: (run(), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(\(repeats)))
      print(a.nbytes * \(passes) / best / 1e9)
      """, threads: threads)
  }

  static func python(_ script: String, threads: Int) -> Double? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS=\(threads)",
      "OMP_NUM_THREADS=\(threads)",
      "python3", "-c", script,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    process.waitUntilExit()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return process.terminationStatus == 0 ? Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
  }
}
