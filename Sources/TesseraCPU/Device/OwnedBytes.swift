import Glibc
import TesseraRuntime

/// A zeroed heap byte buffer with a 64-byte-aligned, stable address, freed with its owner.
/// It comes from `calloc`, so a large buffer is fresh zero pages that take memory only where a
/// run writes (an arena slot for a value no step computes costs nothing).
/// When the buffer is device memory (an allocation, a written copy, tiles), it is counted in the
/// device's ``AllocationCounter`` while it lives; scratch buffers and literals are not.
/// `@unchecked Sendable`: the executor writes it only during a run that owns it, and weights are
/// never written.
final class OwnedBytes: @unchecked Sendable {
  let pointer: UnsafeMutableRawPointer
  let count: Int
  private let allocation: UnsafeMutableRawPointer
  private let counted: CountedAllocation?

  /// `count` zeroed bytes for the buffer called `buffer` on `device`, counted in `counter` when
  /// one is given. When `calloc` fails, or `injected` (an injected `alloc` fault that hit this
  /// buffer) is given, fails with ``DeviceError/allocationFailed(device:buffer:bytes:message:)``
  /// and holds nothing.
  init(count: Int, buffer: String, device: String, counter: AllocationCounter?, injected: FaultHit? = nil)
    throws(DeviceError)
  {
    self.count = count
    guard injected == nil, let allocation = calloc(Swift.max(count, 1) + 63, 1) else {
      let message = injected?.description ?? "calloc failed: " + String(cString: strerror(errno))
      throw .allocationFailed(device: device, buffer: buffer, bytes: count, message: message)
    }
    self.allocation = allocation
    pointer = allocation + (64 - Int(bitPattern: allocation) % 64) % 64
    counted = counter?.count(count)
  }

  /// A copy of `bytes`: a literal small enough that failing to allocate it is a broken invariant.
  convenience init(_ bytes: [UInt8]) {
    try! self.init(count: bytes.count, buffer: "a literal", device: "cpu", counter: nil)
    copy(bytes)
  }

  /// Bytes counted as device memory (0 for a buffer no counter was given).
  var countedBytes: Int { counted?.bytes ?? 0 }

  /// Copies `bytes` to the start of the buffer (at most ``count`` of them).
  func copy(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes {
      if let base = $0.baseAddress { pointer.copyMemory(from: base, byteCount: Swift.min(bytes.count, count)) }
    }
  }

  deinit { free(allocation) }
}
