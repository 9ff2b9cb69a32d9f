import Synchronization
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// The copies of block-quantized weights with rows interleaved (``KRowInterleave``) that kernels
/// of this memory's values read (``KBuffer/interleave``): one per value location and layout,
/// made at the first encoding that binds one and shared by every plan that does (a model's
/// prefill and decode), counted in the device's allocations and freed with this memory.
final class InterleavedCopies: Sendable {
  /// A copy and the count of writes to its source it was made from (`-1`: not yet filled).
  final class Copy: @unchecked Sendable {
    let memory: OpenCLMemory
    let madeAt = Locked<Int>(-1)

    init(memory: OpenCLMemory) { self.memory = memory }
  }

  /// Which copy: the value's first byte, its dtype and the interleave.
  struct Key: Hashable {
    var offset: Int
    var dtype: DType
    var interleave: KRowInterleave
  }

  /// Writes to the source memory so far: a copy made at an older count is made again.
  let writes = Atomic<Int>(0)
  private let copies = Locked<[Key: Copy]>([:])

  /// The copy for `key`, allocated on `device` (unfilled) the first time.
  func copy(_ key: Key, on device: OpenCLDevice, source: OpenCLMemory) throws(DeviceError) -> Copy {
    try copies.withLock { copies throws(DeviceError) in
      if let known = copies[key] { return known }
      let memory = try device.allocate(
        bytes: key.interleave.byteCount(dtype: key.dtype), name: source.name + " (rows interleaved)")
      let made = Copy(memory: memory as! OpenCLMemory)
      copies[key] = made
      return made
    }
  }
}

/// A kernel buffer bound to an interleaved copy: what the copy is made from.
struct InterleavedBinding: @unchecked Sendable {
  let source: OpenCLMemory
  let key: InterleavedCopies.Key
  let copy: InterleavedCopies.Copy
}

extension OpenCLDevice {
  /// The copy of the value at `location` that `buffer` reads, with rows interleaved as the
  /// buffer says.
  func interleavedBinding(of location: ValueLocation, for buffer: KBuffer) throws(DeviceError) -> InterleavedBinding {
    let source = location.memory as! OpenCLMemory
    let key = InterleavedCopies.Key(offset: location.offset, dtype: buffer.dtype, interleave: buffer.interleave!)
    return InterleavedBinding(
      source: source, key: key, copy: try source.interleaved.copy(key, on: self, source: source))
  }

  /// Fills `binding`'s copy from its source where the source was written since it was made (or
  /// it was never filled): the source's bytes are read back, interleaved on the host and written.
  func refresh(_ binding: InterleavedBinding) throws(DeviceError) {
    try binding.copy.madeAt.withLock { madeAt throws(DeviceError) in
      let writes = binding.source.interleaved.writes.load(ordering: .acquiring)
      guard madeAt != writes else { return }
      let (interleave, dtype) = (binding.key.interleave, binding.key.dtype)
      let weightBytes = dtype.storageBytes(count: interleave.rowCount * interleave.rowElements)!
      let weight = try read(binding.source, at: binding.key.offset, count: weightBytes)
      let copy = weight.withUnsafeBytes { interleave.interleaved($0, dtype: dtype) }
      try copy.withUnsafeBytes { bytes throws(DeviceError) in try write(bytes, to: binding.copy.memory, at: 0) }
      madeAt = writes
    }
  }
}
