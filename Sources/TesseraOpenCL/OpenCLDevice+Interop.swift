/// A buffer created on an OpenCL device for another OpenCL library (a BLAS measured as a peer).
///
/// Thread safety: `@unchecked Sendable` for the same reasons as ``OpenCLHandle``: the handle
/// never changes and OpenCL memory objects may be used from any thread.
public final class OpenCLInteropBuffer: @unchecked Sendable {
  private let handle: OpenCLHandle
  init(_ handle: OpenCLHandle) { self.handle = handle }
  /// The `cl_mem`, valid while this object lives.
  public var raw: OpaquePointer { handle.raw }
}

/// Raw access for interop: other OpenCL libraries can enqueue on this device's queue with
/// buffers made here, so their work and Tessera's run on one context and one queue.
extension OpenCLDevice {
  /// The device's in-order command queue (`cl_command_queue`), valid while the device lives.
  public var rawQueue: OpaquePointer { queue.raw }

  /// A read-write buffer holding `bytes`.
  public func interopBuffer(_ bytes: [UInt8]) throws(OpenCLError) -> OpenCLInteropBuffer {
    let buffer = try makeBuffer("interop", bytes.count)
    try write(bytes, to: buffer, offset: 0, name: "interop")
    return OpenCLInteropBuffer(buffer)
  }

  /// Blocks until every command enqueued on the queue has finished.
  public func finishQueue() throws(OpenCLError) {
    try api.check(api.finish(queue.raw), "clFinish")
  }
}
