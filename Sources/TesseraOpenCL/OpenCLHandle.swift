/// Owns one OpenCL object (context, queue, buffer, program, kernel or event) and releases it
/// when the last reference goes.
///
/// Thread safety: `@unchecked Sendable` is safe because the handle is immutable, OpenCL's
/// retain/release and the calls Tessera makes on contexts, queues, buffers and programs are
/// thread-safe (OpenCL 1.2, appendix A.2); the one call that is not, `clSetKernelArg`, is only
/// made with the executable's lock held.
final class OpenCLHandle: @unchecked Sendable {
  /// The raw handle.
  let raw: OpaquePointer
  private let api: OpenCLAPI  // keeps the loader open until the handle is released
  private let release: KeyPath<OpenCLAPI, OpenCLAPI.Release>

  /// Takes ownership of `raw`; `release` is the matching `clRelease…` entry point.
  init(_ raw: OpaquePointer, api: OpenCLAPI, release: KeyPath<OpenCLAPI, OpenCLAPI.Release>) {
    self.raw = raw
    self.api = api
    self.release = release
    api.liveHandles.add(1, ordering: .relaxed)
  }

  deinit {
    _ = api[keyPath: release](raw)
    api.liveHandles.subtract(1, ordering: .relaxed)
  }
}
