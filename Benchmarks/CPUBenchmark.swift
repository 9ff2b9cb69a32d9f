import Foundation
import Tessera

/// The `cpu` backend's suites: SGEMM against numpy/OpenBLAS, quantized matvec bandwidth against
/// numpy streaming the same bytes, and the vectorised KIR executor against the KIR interpreter,
/// each peer measured in the same run.
enum CPUBenchmark {
  /// One measured row for the table and the JSON file.
  struct Row: Codable {
    var suite: String, name: String, threads: Int, value: Double, unit: String
    var peer: Double?, peerName: String, ratio: Double?
  }

  /// SGEMM square sizes at each thread count vs numpy with the same thread count.
  static func gemm(sizes: [Int], threads: [Int], repeats: Int) -> [Row] {
    var rows: [Row] = []
    print("SGEMM f32, best of \(repeats); peer: numpy/OpenBLAS (OPENBLAS_NUM_THREADS = threads) in the same run")
    print("SIZE  THREADS  TESSERA GFLOP/s  NUMPY GFLOP/s  RATIO   %PEAK(172/core)")
    for size in sizes {
      var generator = SeededRandom(seed: 1)
      let a = (0..<(size * size)).map { _ in Float.random(in: -1..<1, using: &generator) }
      let b = (0..<(size * size)).map { _ in Float.random(in: -1..<1, using: &generator) }
      var c = [Float](repeating: 0, count: size * size)
      for count in threads {
        let pool = CPUThreadPool(threads: count)
        let seconds = bestTime(repeats) {
          SGEMM.multiply(m: size, n: size, k: size, a: a, lda: size, b: b, ldb: size, c: &c, ldc: size, pool: pool)
        }
        let ours = 2 * pow(Double(size), 3) / seconds / 1e9
        let peer = Peer.numpyGEMM(size: size, threads: count, repeats: repeats)
        let row = Row(
          suite: "gemm", name: "\(size)", threads: count, value: ours, unit: "GFLOP/s", peer: peer,
          peerName: "numpy/OpenBLAS", ratio: peer.map { ours / $0 })
        rows.append(row)
        print(
          String(
            format: "%-5d %7d  %15.1f  %13@  %6@  %5.1f%%", size, count, ours, Peer.text(peer),
            Peer.ratioText(row.ratio),
            100 * ours / (172 * Double(count))))
      }
    }
    return rows
  }

  /// Quantized matvec (decode) at LLM shapes, GB/s of weights streamed, vs numpy reducing an f32
  /// array of the same byte size on as many threads (the machine's read bandwidth at that size).
  static func quant(threads: [Int], repeats: Int) -> [Row] {
    var rows: [Row] = []
    let shapes = [(576, 1536), (1536, 576), (576, 49152)]
    print("quantized matvec y = W·x (W n×k), best of \(repeats * 3); peer: \(Peer.streamName), same bytes, same run")
    print("TYPE   N×K          THREADS  MODE              TESSERA GB/s  NUMPY GB/s  RATIO")
    for dtype in [DType.q4_0, .q4_1, .q8_0] {
      for (k, n) in shapes {
        var generator = SeededRandom(seed: 2)
        let weights = Tensor.random(TensorType(dtype, [n, k]), using: &generator)
        let x = (0..<k).map { _ in Float.random(in: -1..<1, using: &generator) }
        var y = [Float](repeating: 0, count: n)
        let bytes = Double(weights.bytes.count)
        for count in threads {
          let peer = Peer.numpyStream(bytes: weights.bytes.count, threads: count, repeats: repeats * 3)
          for precision in QuantizedPrecision.allCases {
            let pool = CPUThreadPool(threads: count)
            let seconds = weights.bytes.withUnsafeBytes { w in
              bestTime(repeats * 3) {
                QuantizedMatmul.multiply(
                  x: x, m: 1, k: k, weights: w.baseAddress!, dtype: dtype, n: n, y: &y, precision: precision, pool: pool
                )
              }
            }
            let ours = bytes / seconds / 1e9
            let row = Row(
              suite: "quant", name: "\(dtype) \(n)x\(k) \(precision.rawValue)", threads: count, value: ours,
              unit: "GB/s",
              peer: peer, peerName: Peer.streamName, ratio: peer.map { ours / $0 })
            rows.append(row)
            print(
              String(
                format: "%-6@ %-12@ %7d  %-16@  %12.2f  %10@  %6@", "\(dtype)", "\(n)x\(k)", count, precision.rawValue,
                ours, Peer.text(peer), Peer.ratioText(row.ratio)))
          }
        }
      }
    }
    return rows
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

  static func numpyGEMM(size: Int, threads: Int, repeats: Int) -> Double? {
    python(
      """
      import time, numpy as np
      a = np.random.rand(\(size), \(size)).astype(np.float32); b = np.random.rand(\(size), \(size)).astype(np.float32)
      a @ b
      best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(\(repeats)))
      print(2 * \(size) ** 3 / best / 1e9)
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
