import TesseraIR
import TesseraRuntime

/// The emulated NPU's global memory: one flat address space that every NPU program addresses
/// directly, and the `npu` device's ``TensorStore``. Weights, KV caches, arenas and input buffers
/// are ranges of it (``NPUBuffer``), so they stay resident between runs and programs read them in
/// place; nothing is copied per run but the inputs given as host tensors and the results.
///
/// Ranges are 256-byte aligned and found first-fit (``RegionAllocator``). The host bytes behind
/// the address space grow with the highest range in use, up to ``capacity``.
///
/// Thread safety: `@unchecked Sendable`; the allocator and the bytes are touched only under the
/// lock, which an emulator run holds for its whole program (``withBytes(_:)``).
public final class NPUGlobalMemory: TensorStore, @unchecked Sendable {
  /// The device's name.
  public let deviceName: String
  /// Bytes of address space: programs load addresses as 32-bit immediates, so at most 2 GiB.
  public let capacity: Int
  private var allocator: RegionAllocator
  private var bytes = UnsafeMutableRawBufferPointer(start: nil, count: 0)
  private let lock = Lock()

  /// An empty global memory of `capacity` bytes for the device called `deviceName`.
  public init(deviceName: String, capacity: Int) {
    precondition(capacity <= Int(Int32.max), "NPU programs address global memory with 32-bit immediates")
    self.deviceName = deviceName
    self.capacity = capacity
    allocator = RegionAllocator(capacity: capacity, alignment: 256)
  }

  deinit { bytes.baseAddress.map { $0.deallocate() } }

  /// Bytes of the live buffers' ranges (each rounded up to 256).
  public var allocatedBytes: Int { lock.withLock { allocator.bytesInUse } }

  /// A zero-filled range of `bytes`; `allocationFailed` when the address space has no room.
  public func allocate(bytes count: Int, name: String) throws(DeviceError) -> any DeviceMemory {
    try lock.withLock { () throws(DeviceError) -> NPUBuffer in
      guard let address = allocator.allocate(count) else {
        throw .allocationFailed(
          device: deviceName, buffer: name, bytes: count,
          message: "global memory has no free range that large (\(allocator.bytesInUse) of \(capacity) bytes in use)")
      }
      reserve(allocator.end)
      let footprint = allocator.footprint(of: count)
      UnsafeMutableRawBufferPointer(rebasing: bytes[address..<(address + footprint)]).initializeMemory(
        as: UInt8.self, repeating: 0)
      return NPUBuffer(global: self, address: address, byteCount: count, allocatedBytes: footprint)
    }
  }

  /// Copies `source` into `memory` at `offset`.
  public func write(_ source: UnsafeRawBufferPointer, to memory: any DeviceMemory, at offset: Int) throws(DeviceError) {
    let address = try range(of: memory, offset: offset, count: source.count, copy: "write")
    guard let base = source.baseAddress, !source.isEmpty else { return }
    lock.withLock { (bytes.baseAddress! + address).copyMemory(from: base, byteCount: source.count) }
  }

  /// Copies `count` bytes of `memory` from `offset` out.
  public func read(_ memory: any DeviceMemory, at offset: Int, count: Int) throws(DeviceError) -> [UInt8] {
    let address = try range(of: memory, offset: offset, count: count, copy: "read")
    return lock.withLock { Array(bytes[address..<(address + count)]) }
  }

  /// Runs `body` over the whole address space with the lock held (an emulator run).
  func withBytes<Result, Failure: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Result)
    throws(Failure) -> Result
  {
    try lock.withLock { () throws(Failure) -> Result in try body(bytes) }
  }

  /// Called by a buffer's `deinit`.
  func release(_ buffer: NPUBuffer) {
    lock.withLock { allocator.release(buffer.address, bytes: buffer.byteCount) }
  }

  /// The global address of `memory`'s byte `offset`, after checking that it is this memory's
  /// and that `count` bytes from there lie inside it.
  private func range(of memory: any DeviceMemory, offset: Int, count: Int, copy: String) throws(DeviceError) -> Int {
    guard let buffer = memory as? NPUBuffer, buffer.global === self else {
      throw .kernelFailed(kernel: copy, message: "memory of another device given to \(deviceName)")
    }
    guard offset >= 0, count >= 0, offset <= buffer.byteCount - count else {
      throw .kernelFailed(
        kernel: copy,
        message: "bytes [\(offset), \(offset + count)) are outside a \(buffer.byteCount)-byte buffer on \(deviceName)")
    }
    return buffer.address + offset
  }

  /// Grows the host bytes (doubling) so that addresses below `end` exist.
  private func reserve(_ end: Int) {
    guard end > bytes.count else { return }
    let count = Swift.min(capacity, Swift.max(end, bytes.count * 2))
    let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
    if let old = bytes.baseAddress {
      grown.baseAddress!.copyMemory(from: old, byteCount: bytes.count)
      old.deallocate()
    }
    bytes = grown
  }
}

/// A range of ``NPUGlobalMemory``: the `npu` device's memory for one tensor or buffer, given back
/// when the last reference goes.
public final class NPUBuffer: DeviceMemory {
  /// The global memory it is part of.
  public let global: NPUGlobalMemory
  /// Its first byte's global address, as NPU programs load it.
  public let address: Int
  /// Bytes usable from `address`.
  public let byteCount: Int
  /// Bytes of its range: `byteCount` rounded up to the 256-byte alignment.
  public let allocatedBytes: Int

  init(global: NPUGlobalMemory, address: Int, byteCount: Int, allocatedBytes: Int) {
    self.global = global
    self.address = address
    self.byteCount = byteCount
    self.allocatedBytes = allocatedBytes
  }

  deinit { global.release(self) }
}
