import Foundation
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// Bytes that stay where they are until the owner goes, as a memory-mapped model's do.
private final class MappedBytes: @unchecked Sendable {  // never written after init
  let buffer: UnsafeMutableRawBufferPointer
  init(_ bytes: [UInt8]) {
    buffer = .allocate(byteCount: bytes.count, alignment: 32)
    bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
  }
  deinit { buffer.deallocate() }

  /// A tensor of `type` viewing the bytes.
  func view(_ type: TensorType) -> Tensor { Tensor(type: type, viewing: UnsafeRawBufferPointer(buffer), owner: self)! }
}

/// Mapped bytes that record which ranges a device gave back (and give nothing back).
private final class RecordingMapping: FileBackedMemory, @unchecked Sendable {  // released only under the tiles lock
  let bytes: MappedBytes
  private(set) var released: [Range<Int>] = []
  init(_ bytes: [UInt8]) { self.bytes = MappedBytes(bytes) }
  func releasePages(in range: UnsafeRawBufferPointer) {
    let start = range.baseAddress! - UnsafeRawPointer(bytes.buffer.baseAddress!)
    released.append(start..<(start + range.count))
  }
}

@Suite("Quantized weights repacked into four-row tiles")
struct QuantizedTileTests {
  @Test(
    "a mapped weight is tiled in chunks, each given back to the mapping once repacked", arguments: [DType.q4_0, .q8_0])
  func mappedWeightsAreGivenBackChunkByChunk(dtype: DType) throws {
    let k = 64, rowBytes = k / 32 * dtype.quantBlock!.bytes
    let chunkRows = CPUMemory.releaseChunkBytes / (rowBytes * QuantizedTiles.rows) * QuantizedTiles.rows
    let n = 2 * chunkRows + 7
    var generator = SeededRandom(seed: 12)
    let weight = Tensor.random(TensorType(dtype, [n, k]), using: &generator)
    let mapping = RecordingMapping(weight.bytes)
    let view = Tensor(type: weight.type, viewing: UnsafeRawBufferPointer(mapping.bytes.buffer), owner: mapping)!
    let memory = CPUMemory(borrowing: view, tileable: true, counter: AllocationCounter())
    let tiles = try #require(memory.tiles(n: n, k: k, dtype: dtype, pool: CPUThreadPool(threads: 3)))
    var expected = [UInt8](repeating: 0, count: QuantizedTiles.byteCount(n: n, k: k, dtype: dtype))
    weight.bytes.withUnsafeBytes { w in
      expected.withUnsafeMutableBytes {
        QuantizedTiles.repack(w.baseAddress!, n: n, k: k, dtype: dtype, into: $0.baseAddress!)
      }
    }
    #expect(Array(UnsafeRawBufferPointer(start: tiles, count: expected.count)) == expected)
    #expect(
      mapping.released == [
        0..<(chunkRows * rowBytes), (chunkRows * rowBytes)..<(2 * chunkRows * rowBytes),
        (2 * chunkRows * rowBytes)..<(n * rowBytes),
      ])
  }

  @Test("the tiled layout: per block, four scales, four minimums, four rows of codes; rows past n repeat the last")
  func layout() {
    let (n, k) = (5, 64)
    var generator = SeededRandom(seed: 3)
    let weights = Tensor.random(TensorType(.q4_1, [n, k]), using: &generator).bytes
    var tiles = [UInt8](repeating: 0, count: QuantizedTiles.byteCount(n: n, k: k, dtype: .q4_1))
    #expect(tiles.count == 2 * 2 * 80)
    weights.withUnsafeBytes { w in
      tiles.withUnsafeMutableBytes {
        QuantizedTiles.repack(w.baseAddress!, n: n, k: k, dtype: .q4_1, into: $0.baseAddress!)
      }
    }
    for tile in 0..<2 {
      for block in 0..<2 {
        let base = (tile * 2 + block) * 80
        for lane in 0..<4 {
          let row = min(tile * 4 + lane, n - 1), source = (row * 2 + block) * 20
          #expect(tiles[(base + 2 * lane)..<(base + 2 * lane + 2)] == weights[source..<(source + 2)], "d")
          #expect(tiles[(base + 8 + 2 * lane)..<(base + 10 + 2 * lane)] == weights[(source + 2)..<(source + 4)], "m")
          let codes = base + 16 + 16 * lane
          #expect(tiles[codes..<(codes + 16)] == weights[(source + 4)..<(source + 20)], "codes")
        }
      }
    }
  }

  static let cases: [(dtype: DType, m: Int, n: Int, k: Int)] = [
    (.q4_0, 1, 1, 32), (.q4_1, 1, 7, 64), (.q4_0, 2, 33, 96), (.q4_1, 3, 130, 576), (.q4_0, 5, 9, 64),
    (.q4_1, 17, 12, 160), (.q8_0, 1, 5, 64), (.q8_0, 6, 9, 96), (.q8_0, 2, 130, 576),
    (.q5_0, 1, 7, 64), (.q5_0, 3, 130, 576), (.q5_0, 6, 9, 96), (.q4_k, 1, 5, 256), (.q4_k, 2, 33, 512),
    (.q4_k, 5, 9, 256), (.q5_k, 1, 7, 256), (.q5_k, 6, 9, 512), (.q6_k, 1, 5, 256), (.q6_k, 3, 130, 512),
    (.q6_k, 5, 9, 256), (.q5_1, 1, 7, 64), (.q5_1, 3, 130, 576), (.q5_1, 6, 9, 96), (.q3_k, 1, 5, 256),
    (.q3_k, 2, 33, 512), (.q3_k, 5, 9, 256), (.f16, 1, 7, 64), (.f16, 3, 130, 576), (.f16, 6, 9, 96), (.bf16, 1, 5, 32),
    (.bf16, 2, 33, 64), (.bf16, 5, 9, 160),
  ]

  /// The cases whose tiles hold codes, which the int8-activation kernels multiply (not f16, bf16).
  static let codeCases = cases.indices.filter { cases[$0].dtype.isQuantized }

  /// `x · Wᵀ` through ``QuantizedMatmul`` reading `weights` repacked into tiles.
  static func onTiles(
    _ x: [Float], _ weights: Tensor, m: Int, n: Int, k: Int, precision: QuantizedPrecision, threads: Int
  ) -> [Float] {
    let dtype = weights.dtype
    var tiles = [UInt8](repeating: 0, count: QuantizedTiles.byteCount(n: n, k: k, dtype: dtype))
    var y = [Float](repeating: .nan, count: m * n)
    weights.bytes.withUnsafeBytes { w in
      tiles.withUnsafeMutableBytes {
        QuantizedTiles.repack(w.baseAddress!, n: n, k: k, dtype: dtype, into: $0.baseAddress!)
      }
      tiles.withUnsafeBytes { t in
        QuantizedMatmul.multiply(
          x: x, m: m, k: k, weights: w.baseAddress!, dtype: dtype, n: n, y: &y, precision: precision,
          pool: CPUThreadPool(threads: threads), tiles: t.baseAddress!)
      }
    }
    return y
  }

  /// Case `index`'s random weights and activations (from `seed + index`) and the f64 products
  /// of the dequantized weights with their magnitudes.
  static func problem(_ index: Int, seed: UInt64) -> (
    weights: Tensor, x: [Float], expected: [Double], magnitude: [Double]
  ) {
    let (dtype, m, n, k) = cases[index]
    var generator = SeededRandom(seed: seed + UInt64(index))
    let weights = Tensor.random(TensorType(dtype, [n, k]), using: &generator)
    let x = (0..<(m * k)).map { _ in Float.random(in: -1..<1, using: &generator) }
    let (expected, magnitude) = QuantizedMatmulTests.expected(x, weights, m: m, n: n, k: k)
    return (weights, x, expected, magnitude)
  }

  @Test("matmuls on tiles equal dequantize-then-multiply", arguments: cases.indices, threadCounts)
  func multiply(index: Int, threads: Int) {
    let (dtype, m, n, k) = Self.cases[index]
    let (weights, x, expected, magnitude) = Self.problem(index, seed: 100)
    let y = Self.onTiles(x, weights, m: m, n: n, k: k, precision: .f32Activations, threads: threads)
    for e in 0..<(m * n) {
      #expect(abs(Double(y[e]) - expected[e]) <= 1e-5 * magnitude[e] + 1e-5, "\(dtype) \(m)x\(n)x\(k) element \(e)")
    }
  }

  @Test(
    "the f32 tile kernel's sixteen- and eight-lane sums both equal dequantize-then-multiply",
    arguments: [true, false], cases.indices)
  func accumulatorWidths(sixteenLanes: Bool, index: Int) {
    let (dtype, m, n, k) = Self.cases[index]
    let (weights, x, expected, magnitude) = Self.problem(index, seed: 400)
    var tiles = [UInt8](repeating: 0, count: QuantizedTiles.byteCount(n: n, k: k, dtype: dtype))
    weights.bytes.withUnsafeBytes { w in
      tiles.withUnsafeMutableBytes {
        QuantizedTiles.repack(w.baseAddress!, n: n, k: k, dtype: dtype, into: $0.baseAddress!)
      }
    }
    var y = [Float](repeating: .nan, count: m * n)
    tiles.withUnsafeBytes { t in
      x.withUnsafeBufferPointer { rows in
        y.withUnsafeMutableBufferPointer { out in
          for i in 0..<m {
            QuantizedTiles.multiply(
              x: rows.baseAddress! + i * k, k: k, tiles: t.baseAddress!, dtype: dtype, rows: 0..<n,
              y: out.baseAddress! + i * n, sixteenLanes: sixteenLanes)
          }
        }
      }
    }
    for e in 0..<(m * n) {
      #expect(
        abs(Double(y[e]) - expected[e]) <= 1e-5 * magnitude[e] + 1e-5,
        "\(sixteenLanes ? 16 : 8) lanes \(dtype) \(m)x\(n)x\(k) element \(e)")
    }
  }

  static let viewGraph = """
    func @f(%x: f32[R,64], %w: q4_1[10,64]) -> f32[R,10] {
      %d = dequantize %w : f32[10,64]
      %t = transpose %d : f32[64,10]
      %y = matmul %x, %t : f32[R,10]
      return %y
    }
    """

  @Test("a bound weight is tiled once, shared by the graphs bound to it, and freed with its tensor")
  func boundWeightsShareTiles() throws {
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: 2))
    var generator = SeededRandom(seed: 8)
    let mapping = MappedBytes(Tensor.random(TensorType(.q4_1, [10, 64]), using: &generator).bytes)
    let view = mapping.view(TensorType(.q4_1, [10, 64]))
    var parameters: ParameterSet? = try ParameterSet(uploading: [("w", view)], to: device)
    weak let memory = parameters!.tensors["w"]!.memory as? CPUMemory
    var tiles: Int?
    for rows in [1, 6] {  // a decode-sized matvec, then a prefill-sized matmul on the same tiles
      let graph = try TestSupport.parseOne(Self.viewGraph.replacingOccurrences(of: "R", with: "\(rows)"))
      let x = Tensor.random(graph.argumentTypes[0], using: &generator)
      let expected = try TestSupport.evaluate(graph, [x, view])[0]
      let actual = try device.compile(graph, parameters: parameters!).run(inputs: [x])[0]
      #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-5, rtol: 1e-5) <= 1, "\(rows) rows")
      #expect(memory?.hasTiles == true)
      let resident = memory?.residentBytes
      #expect(tiles == nil || tiles == resident, "the second graph made no new tiles")
      tiles = resident
    }
    #expect(tiles == QuantizedTiles.byteCount(n: 10, k: 64, dtype: .q4_1), "the mapped bytes were released")
    parameters = nil
    #expect(memory == nil, "the tiles go with the last reference to the weight")
  }

  /// `x · Wᵀ` with each activation block rounded to int8 codes times `max|x| / 127` (ties away
  /// from zero), in Double: what the int8-activation mode computes, independently of it.
  static func expectedInt8(_ x: [Float], _ weights: Tensor, m: Int, n: Int, k: Int) -> ([Double], [Double]) {
    var rounded = x
    for start in stride(from: 0, to: m * k, by: 32) {
      let d = x[start..<(start + 32)].map { abs($0) }.max()! / 127
      for p in start..<(start + 32) {
        rounded[p] = d == 0 ? 0 : Float(Double(x[p]) / Double(d)).rounded(.toNearestOrAwayFromZero) * d
      }
    }
    return QuantizedMatmulTests.expected(rounded, weights, m: m, n: n, k: k)
  }

  @Test(
    "int8-activation matmuls on tiles (AVX-512 VNNI or AVX2, as the CPU has) equal W · the rounded activations",
    .enabled(if: Int8TileMatvec.available, "this CPU has neither AVX-512 VNNI nor AVX2"), arguments: codeCases,
    threadCounts)
  func int8Multiply(index: Int, threads: Int) {
    let (dtype, m, n, k) = Self.cases[index]
    var generator = SeededRandom(seed: UInt64(200 + index))
    let weights = Tensor.random(TensorType(dtype, [n, k]), using: &generator)
    var x = (0..<(m * k)).map { _ in Float.random(in: -1..<1, using: &generator) }
    x.replaceSubrange(0..<32, with: repeatElement(0, count: 32))  // an all-zero block has scale 0
    let (expected, magnitude) = Self.expectedInt8(x, weights, m: m, n: n, k: k)
    let y = Self.onTiles(x, weights, m: m, n: n, k: k, precision: .int8Activations, threads: threads)
    for e in 0..<(m * n) {
      #expect(abs(Double(y[e]) - expected[e]) <= 1e-5 * magnitude[e] + 1e-5, "\(dtype) \(m)x\(n)x\(k) element \(e)")
    }
  }

  @Test(
    "every instruction set this CPU runs (faster ones forced off in turn) gives the int8-activation results",
    .enabled(if: Int8TileMatvec.available, "this CPU has neither AVX-512 VNNI nor AVX2"),
    arguments: Int8TileMatvec.Instructions.available, codeCases)
  func int8InstructionSets(instructions: Int8TileMatvec.Instructions, index: Int) {
    let (dtype, m, n, k) = Self.cases[index]
    var generator = SeededRandom(seed: UInt64(300 + index))
    let weights = Tensor.random(TensorType(dtype, [n, k]), using: &generator)
    // Codes at the extremes: all-equal blocks quantize to ±127, the largest products there are.
    let x = (0..<(m * k)).map { $0 % 64 < 32 ? 1 : Float.random(in: -1..<1, using: &generator) }
    let (expected, magnitude) = Self.expectedInt8(x, weights, m: m, n: n, k: k)
    var tiles = [UInt8](repeating: 0, count: QuantizedTiles.byteCount(n: n, k: k, dtype: dtype))
    var y = [Float](repeating: .nan, count: m * n)
    weights.bytes.withUnsafeBytes { w in
      tiles.withUnsafeMutableBytes {
        QuantizedTiles.repack(w.baseAddress!, n: n, k: k, dtype: dtype, into: $0.baseAddress!)
      }
    }
    tiles.withUnsafeBytes { t in
      Int8TileMatvec.multiply(
        x: x, m: m, k: k, tiles: t.baseAddress!, dtype: dtype, n: n, y: &y, pool: CPUThreadPool(threads: 3),
        instructions: instructions)
    }
    for e in 0..<(m * n) {
      #expect(
        abs(Double(y[e]) - expected[e]) <= 1e-5 * magnitude[e] + 1e-5,
        "\(instructions) \(dtype) \(m)x\(n)x\(k) element \(e)")
    }
  }

  @Test("weights given per run are not tiled; the int8-activation mode tiles weights only where VNNI or AVX2 runs it")
  func notTiled() throws {
    let graph = try TestSupport.parseOne(Self.viewGraph.replacingOccurrences(of: "R", with: "1"))
    var generator = SeededRandom(seed: 9)
    let x = Tensor.random(graph.argumentTypes[0], using: &generator)
    let w = Tensor.random(graph.argumentTypes[1], using: &generator)
    let device = CPUDevice(library: StandardKernelLibrary())
    let perRun = try device.compile(graph).run(inputs: [x, w])[0]
    #expect(
      TestSupport.toleranceRatio(perRun, try TestSupport.evaluate(graph, [x, w])[0], atol: 1e-5, rtol: 1e-5) <= 1)
    let int8 = CPUDevice(library: StandardKernelLibrary(), quantizedPrecision: .int8Activations)
    let bound = try ParameterSet(uploading: [("w", w)], to: int8)
    _ = try int8.compile(graph, parameters: bound).run(inputs: [x])
    #expect((bound.tensors["w"]!.memory as! CPUMemory).hasTiles == Int8TileMatvec.available)
  }

  @Test(
    "q5_0, q5_1, K-quant, f16 and bf16 weights, bound (tiled once) or given per run (repacked per call), take the quantized matmul",
    arguments: [DType.q5_0, .q5_1, .q3_k, .q4_k, .q5_k, .q6_k, .f16, .bf16], QuantizedPrecision.allCases)
  func onlyTiledWeights(dtype: DType, precision: QuantizedPrecision) throws {
    let (n, k) = (10, 256)
    var generator = SeededRandom(seed: 11)
    let w = Tensor.random(TensorType(dtype, [n, k]), using: &generator)
    let device = CPUDevice(
      library: StandardKernelLibrary(), pool: CPUThreadPool(threads: 2), quantizedPrecision: precision)
    let bound = try ParameterSet(uploading: [("w", w)], to: device)
    for m in [1, 6] {
      let graph = try TestSupport.parseOne(
        """
        func @f(%x: f32[\(m),\(k)], %w: \(dtype)[\(n),\(k)]) -> f32[\(m),\(n)] {
          %d = \(dtype.isQuantized ? "dequantize %w" : "cast %w {to = f32}") : f32[\(n),\(k)]
          %t = transpose %d : f32[\(k),\(n)]
          %y = matmul %x, %t : f32[\(m),\(n)]
          return %y
        }
        """)
      #expect(
        try device.routes(for: graph).contains {
          if case .native(let matmul) = $0, case .quantized = matmul.weights { true } else { false }
        }, "\(dtype) quantized route")
      let x = (0..<(m * k)).map { _ in Float.random(in: -1..<1, using: &generator) }
      // f16 and bf16 weights keep f32 activations in both modes.
      let int8 = precision == .int8Activations && Int8TileMatvec.supports(dtype)
      let (expected, magnitude) =
        int8 ? Self.expectedInt8(x, w, m: m, n: n, k: k) : QuantizedMatmulTests.expected(x, w, m: m, n: n, k: k)
      let input = Tensor(floats: x, shape: [m, k])
      let perRun = try device.compile(graph).run(inputs: [input, w])[0].floats
      let tiled = try device.compile(graph, parameters: bound).run(inputs: [input])[0].floats
      for e in 0..<(m * n) {
        #expect(abs(Double(perRun[e]) - expected[e]) <= 1e-5 * magnitude[e] + 1e-5, "\(dtype) per run, \(m) rows")
        #expect(tiled[e] == perRun[e], "\(dtype) bound, \(m) rows, element \(e)")
      }
    }
    #expect((bound.tensors["w"]!.memory as! CPUMemory).hasTiles)
  }

  @Test("a q4 constant too large to fold runs on tiles made at its first run")
  func constantWeights() throws {
    let (n, k) = (260, 256)  // 66,560 weights: above the constant folder's 65,536
    var generator = SeededRandom(seed: 10)
    let weights = Tensor.random(TensorType(.q4_0, [n, k]), using: &generator)
    let hex = weights.bytes.map { String(format: "%02x", $0) }.joined()
    let text = """
      func @f(%x: f32[1,\(k)]) -> f32[1,\(n)] {
        %w = constant 0x\(hex) : q4_0[\(n),\(k)]
        %d = dequantize %w : f32[\(n),\(k)]
        %t = transpose %d : f32[\(k),\(n)]
        %y = matmul %x, %t : f32[1,\(n)]
        return %y
      }
      """
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(library: StandardKernelLibrary())
    let routes = try device.routes(for: graph)
    #expect(
      routes.count { if case .native(let matmul) = $0, case .quantized = matmul.weights { true } else { false } } == 1)
    let x = Tensor.random(graph.argumentTypes[0], using: &generator)
    let expected = try TestSupport.evaluate(graph, [x])[0]
    let actual = try device.compile(graph).run(inputs: [x])[0]
    #expect(TestSupport.toleranceRatio(actual, expected, atol: 1e-5, rtol: 1e-5) <= 1)
  }
}
