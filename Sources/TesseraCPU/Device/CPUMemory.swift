import Glibc
import TesseraIR
import TesseraRuntime

/// Memory of the `cpu` device: bytes the device owns (``OwnedBytes``), or a host tensor's own
/// bytes read in place (an uploaded weight, a large input). A borrowed tensor is never written:
/// the first write (``writablePointer``) copies it into owned bytes. A quantized weight keeps
/// its ``QuantizedTiles`` here, made at the first matmul that reads them; when the tensor is a
/// view of a mapped file (``FileBackedMemory``), its pages are released then, so the weight is
/// resident once, as tiles. Owned bytes and tiles are counted in the device's
/// ``AllocationCounter``; a borrowed tensor's bytes are not (they are the host's).
///
/// Thread safety: `@unchecked Sendable`; the state changes only under the lock, and the bytes
/// are written only by runs, which ``PlanRunner`` serialises per compiled graph.
final class CPUMemory: DeviceMemory, @unchecked Sendable {
  private struct State {
    var owned: OwnedBytes?
    var tiles: (n: Int, k: Int, dtype: DType, bytes: OwnedBytes)?
  }

  let byteCount: Int
  /// Whether matmuls may keep tiles of these bytes: memory that holds one tensor for its life
  /// (an uploaded weight or constant), not a run's input buffer or a borrowed input.
  let tileable: Bool
  /// The borrowed tensor, kept alive (and its address valid) while this memory lives.
  private let borrowed: Tensor?
  private let borrowedAddress: UnsafeMutableRawPointer?
  private let state: Locked<State>
  /// Where the bytes this memory allocates later (a written copy, tiles) are counted.
  private let counter: AllocationCounter

  /// `bytes` on the device (allocated, and counted, by `counter`'s device).
  init(owning bytes: OwnedBytes, counter: AllocationCounter) {
    byteCount = bytes.count
    tileable = false
    borrowed = nil
    borrowedAddress = nil
    state = Locked(State(owned: bytes))
    self.counter = counter
  }

  /// `tensor`'s bytes, read where they are (not counted: they are not the device's). Its storage
  /// (an immutable array, or a view its owner keeps mapped) does not move while the tensor is
  /// held, so its address stays valid. A written copy or tiles made later are counted in `counter`.
  init(borrowing tensor: Tensor, tileable: Bool, counter: AllocationCounter) {
    byteCount = tensor.type.storageBytes ?? 0
    self.tileable = tileable
    borrowed = tensor
    borrowedAddress = tensor.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
    state = Locked(State())
    self.counter = counter
  }

  /// Where the bytes are, for reading.
  var pointer: UnsafeMutableRawPointer {
    state.withLock { $0.owned?.pointer } ?? borrowedAddress ?? CPUMemory.empty.pointer
  }

  /// Where the bytes are, for writing: a borrowed tensor is copied into owned bytes first.
  func writablePointer() throws(DeviceError) -> UnsafeMutableRawPointer {
    try state.withLock { state throws(DeviceError) -> UnsafeMutableRawPointer in
      if let owned = state.owned { return owned.pointer }
      let owned = try OwnedBytes(count: byteCount, buffer: "a written copy", device: "cpu", counter: counter)
      if let borrowedAddress { owned.pointer.copyMemory(from: borrowedAddress, byteCount: byteCount) }
      state.owned = owned
      return owned.pointer
    }
  }

  /// Copies `bytes` in at `offset`; tiles made before are repacked in place (their address,
  /// which encoded steps hold, stays valid).
  func write(_ bytes: UnsafeRawBufferPointer, at offset: Int, pool: CPUThreadPool) throws(DeviceError) {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    try writablePointer().advanced(by: offset).copyMemory(from: base, byteCount: bytes.count)
    state.withLock { state in
      guard let tiles = state.tiles, let owned = state.owned else { return }
      QuantizedTiles.repack(
        owned.pointer, n: tiles.n, k: tiles.k, dtype: tiles.dtype, into: tiles.bytes.pointer, pool: pool)
    }
  }

  /// The tiles of this `n × k` quantized weight of `dtype`, repacked now on `pool` at the first
  /// call; `nil` when the memory is not ``tileable`` or memory for them cannot be had (the GGUF
  /// layout then serves).
  func tiles(n: Int, k: Int, dtype: DType, pool: CPUThreadPool) -> UnsafeRawPointer? {
    guard tileable else { return nil }
    return state.withLock { state -> UnsafeRawPointer? in
      if let tiles = state.tiles, tiles.n == n, tiles.k == k { return UnsafeRawPointer(tiles.bytes.pointer) }
      let source = state.owned?.pointer ?? borrowedAddress
      guard let source,
        let tiles = try? OwnedBytes(
          count: QuantizedTiles.byteCount(n: n, k: k, dtype: dtype), buffer: "tiles", device: "cpu",
          counter: counter)
      else { return nil }
      let mapping = state.owned == nil ? borrowed?.viewOwner as? any FileBackedMemory : nil
      Self.repack(source, n: n, k: k, dtype: dtype, into: tiles.pointer, releasing: mapping, pool: pool)
      state.tiles = (n, k, dtype, tiles)
      return UnsafeRawPointer(tiles.pointer)
    }
  }

  /// Source bytes repacked before their pages are given back to a mapping: the pages of a
  /// mapped weight and its tiles are both resident only for this much of it at a time.
  static let releaseChunkBytes = 1 << 21

  /// Repacks `source` into `tiles` in chunks of whole tile rows, giving each chunk's pages back to
  /// `mapping` (the file the weight is a view of) once it is repacked; in one go without one.
  private static func repack(
    _ source: UnsafeMutableRawPointer, n: Int, k: Int, dtype: DType, into tiles: UnsafeMutableRawPointer,
    releasing mapping: (any FileBackedMemory)?, pool: CPUThreadPool
  ) {
    let rowBytes = QuantizedBlocks.rowBytes(k: k, dtype: dtype)
    let chunkRows =
      mapping == nil ? n : Swift.max(1, releaseChunkBytes / (rowBytes * QuantizedTiles.rows)) * QuantizedTiles.rows
    for first in stride(from: 0, to: n, by: chunkRows) {
      let rows = Swift.min(chunkRows, n - first)
      let chunk = source + first * rowBytes
      QuantizedTiles.repack(
        chunk, n: rows, k: k, dtype: dtype, into: tiles + QuantizedTiles.byteCount(n: first, k: k, dtype: dtype),
        pool: pool)
      mapping?.releasePages(in: UnsafeRawBufferPointer(start: chunk, count: rows * rowBytes))
    }
  }

  /// Whether tiles were made.
  var hasTiles: Bool { state.withLock { $0.tiles != nil } }

  /// Bytes held for this memory: owned bytes and tiles (a borrowed mapping's released pages
  /// are not counted).
  var residentBytes: Int {
    state.withLock { state in
      (state.owned?.count ?? (state.tiles == nil ? byteCount : 0)) + (state.tiles?.bytes.count ?? 0)
    }
  }

  /// Owned bytes and tiles: what the device allocated for this memory.
  var allocatedBytes: Int {
    state.withLock { ($0.owned?.countedBytes ?? 0) + ($0.tiles?.bytes.countedBytes ?? 0) }
  }

  /// Where an empty value points (nothing reads it).
  private static let empty = OwnedBytes([0])
}
