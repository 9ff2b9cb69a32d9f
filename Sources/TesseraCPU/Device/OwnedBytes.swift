import Foundation
import TesseraRuntime

/// A heap byte buffer with a stable, 64-byte aligned address, zeroed, freed with its owner.
/// `@unchecked Sendable`: the executor writes it only during a run that owns it, and weights are
/// never written.
final class OwnedBytes: @unchecked Sendable {
  let pointer: UnsafeMutableRawPointer
  let count: Int

  /// `count` zeroed bytes for the buffer called `buffer` on `device`. When `posix_memalign` fails,
  /// or `injected` (an injected `alloc` fault that hit this buffer) is given, fails with
  /// ``DeviceError/allocationFailed(device:buffer:bytes:message:)`` and holds nothing.
  init(count: Int, buffer: String, device: String, injected: FaultHit? = nil) throws(DeviceError) {
    var raw: UnsafeMutableRawPointer?
    let status = injected == nil ? posix_memalign(&raw, 64, Swift.max(count, 1)) : ENOMEM
    guard status == 0, let raw else {
      let message = injected?.description ?? "posix_memalign failed: " + String(cString: strerror(status))
      throw .allocationFailed(device: device, buffer: buffer, bytes: count, message: message)
    }
    self.count = count
    pointer = raw
    pointer.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(count, 1))
  }

  /// Copies `bytes` to the start of the buffer (at most ``count`` of them).
  func copy(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes {
      if let base = $0.baseAddress { pointer.copyMemory(from: base, byteCount: Swift.min(bytes.count, count)) }
    }
  }

  deinit { free(pointer) }
}
