import Foundation
import Tessera

/// How the `quant` suite runs a matvec: the activation precision and the weight layout it reads.
struct QuantMode {
  /// f32 or int8 activations.
  var precision: QuantizedPrecision
  /// Whether the kernel reads the ``QuantizedTiles`` copy instead of the GGUF rows.
  var tiled: Bool

  /// The table's MODE column and the end of a row's name: `f32 gguf`, `f32 tiles`, `int8 gguf` or
  /// `int8 tiles`.
  var label: String { "\(precision == .f32Activations ? "f32" : "int8") \(tiled ? "tiles" : "gguf")" }

  /// The modes `dtype` runs in: each precision on the GGUF layout and, where this CPU has a tiled
  /// kernel for it (``QuantizedTiles/supports(_:precision:)``), on tiles.
  static func modes(for dtype: DType) -> [QuantMode] {
    QuantizedPrecision.allCases.flatMap { precision in
      [QuantMode(precision: precision, tiled: false)]
        + (QuantizedTiles.supports(dtype, precision: precision) ? [QuantMode(precision: precision, tiled: true)] : [])
    }
  }
}

/// Random quantized matrices of one dtype, back to back in one GGUF-layout allocation, with their
/// tiled copies back to back in a second allocation where the dtype has tiles: one matrix for a
/// shape row of the `quant` suite, one transformer layer's matrices for its model stack.
final class QuantWeights {
  /// The matrices' block type.
  let dtype: DType
  /// Each matrix's output rows `n` and contraction length `k`, in the order ``multiplyAll`` runs them.
  let shapes: [(n: Int, k: Int)]
  /// Bytes of the GGUF copy: the weight bytes one ``multiplyAll`` streams.
  let byteCount: Int
  private let gguf: UnsafeMutableRawPointer
  private let tiles: UnsafeMutableRawPointer?
  private let offsets: [(gguf: Int, tiles: Int)]

  /// Fills the matrices `shapes` (each `n × k`, `k` a multiple of 32) with `Tensor.random` blocks
  /// from `generator` and, where `dtype` has tiles, repacks each into the tiled allocation.
  init(dtype: DType, shapes: [(n: Int, k: Int)], using generator: inout SeededRandom) {
    self.dtype = dtype
    self.shapes = shapes
    var ggufOffset = 0, tileOffset = 0, offsets: [(gguf: Int, tiles: Int)] = []
    for (n, k) in shapes {
      offsets.append((ggufOffset, tileOffset))
      ggufOffset += TensorType(dtype, [n, k]).storageBytes!
      tileOffset += QuantizedTiles.supports(dtype) ? QuantizedTiles.byteCount(n: n, k: k, dtype: dtype) : 0
    }
    self.offsets = offsets
    byteCount = ggufOffset
    gguf = .allocate(byteCount: ggufOffset, alignment: 64)
    tiles = tileOffset > 0 ? .allocate(byteCount: tileOffset, alignment: 64) : nil
    for ((n, k), offset) in zip(shapes, offsets) {
      let matrix = Tensor.random(TensorType(dtype, [n, k]), using: &generator).bytes
      matrix.withUnsafeBytes { (gguf + offset.gguf).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
      if let tiles {
        QuantizedTiles.repack(gguf + offset.gguf, n: n, k: k, dtype: dtype, into: tiles + offset.tiles)
      }
    }
  }

  deinit {
    gguf.deallocate()
    tiles?.deallocate()
  }

  /// The longest `k` and the largest `n` among the matrices: the lengths ``multiplyAll`` needs of
  /// `x` and `y`.
  var largest: (n: Int, k: Int) { (shapes.map(\.n).max() ?? 0, shapes.map(\.k).max() ?? 0) }

  /// `y = x·Wᵀ` for each matrix in order, all reading the same `m` rows of `x` and writing the same
  /// `y` (at least `m` times ``largest`` long), in `mode` on `pool`.
  func multiplyAll(
    x: UnsafePointer<Float>, m: Int = 1, y: UnsafeMutablePointer<Float>, mode: QuantMode, pool: CPUThreadPool
  ) {
    for ((n, k), offset) in zip(shapes, offsets) {
      QuantizedMatmul.multiply(
        x: x, m: m, k: k, weights: gguf + offset.gguf, dtype: dtype, n: n, y: y, precision: mode.precision,
        pool: pool, tiles: mode.tiled ? tiles.map { UnsafeRawPointer($0 + offset.tiles) } : nil)
    }
  }
}
