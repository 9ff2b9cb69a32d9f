import TesseraIR
import TesseraRuntime

/// The ``QuantizedTiles`` copies of quantized weights that reach the `cpu` device as views (a
/// memory-mapped GGUF file's tensors), repacked at their first run and reused by every graph the
/// device compiled (prefill and decode share them). An entry is keyed by the view's address,
/// size, dtype and shape and holds the view's owner weakly: once the owner is gone (the model
/// closed) the entry is stale, is never returned, and is dropped at the next repack. When the
/// owner is ``FileBackedMemory`` (a mapped file), the view's pages are released after the repack,
/// so the weights are resident once, as tiles, not twice. Tensors that
/// own their bytes are not cached (nothing identifies them across runs); they run on the GGUF
/// layout.
final class TiledWeightCache: Sendable {
  private struct Key: Hashable {
    let address: UInt
    let count: Int
    let dtype: DType
    let n: Int
    let k: Int
  }

  /// `@unchecked Sendable`: only touched under the cache's lock; the tiles are never written
  /// after the repack.
  private struct Entry: @unchecked Sendable {
    weak var owner: AnyObject?
    let tiles: OwnedBytes
  }

  private let entries = Locked<[Key: Entry]>([:])

  /// Creates an empty cache.
  init() {}

  /// Entries whose owner is alive.
  var count: Int { entries.withLock { $0.values.filter { $0.owner != nil }.count } }

  /// The tiles of `weights` (an `n × k` matrix) when it is a view of a tiled dtype, repacked now
  /// if this is its first use (on the threads of `pool`); `nil` otherwise, or when memory for the copy cannot be had (the
  /// GGUF layout then serves).
  func tiles(of weights: Tensor, n: Int, k: Int, pool: CPUThreadPool) -> OwnedBytes? {
    guard QuantizedTiles.supports(weights.dtype), let owner = weights.viewOwner else { return nil }
    return weights.withUnsafeBytes { raw -> OwnedBytes? in
      guard let base = raw.baseAddress else { return nil }
      let key = Key(address: UInt(bitPattern: base), count: raw.count, dtype: weights.dtype, n: n, k: k)
      return entries.withLock { entries -> OwnedBytes? in
        if let entry = entries[key], entry.owner === owner { return entry.tiles }
        entries = entries.filter { $0.value.owner != nil }
        guard
          let tiles = try? OwnedBytes(
            count: QuantizedTiles.byteCount(n: n, k: k, dtype: weights.dtype), buffer: "tiles", device: "cpu")
        else { return nil }
        QuantizedTiles.repack(base, n: n, k: k, dtype: weights.dtype, into: tiles.pointer, pool: pool)
        (owner as? any FileBackedMemory)?.releasePages(in: raw)
        entries[key] = Entry(owner: owner, tiles: tiles)
        return tiles
      }
    }
  }
}
