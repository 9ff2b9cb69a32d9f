/// A small write queued as fills of the buffer, without waiting: `clEnqueueFillBuffer` copies
/// its pattern before it returns, so nothing need outlive the call, and it runs in order with
/// the queue's kernels. A decode step's inputs (its token and position) go this way: PoCL 3.1
/// spent 26–48 µs of the caller's time in each `clEnqueueWriteBuffer`, blocking or not, and
/// 1.3–1.4 µs in a fill (pyopencl on PoCL, Zen 5).
enum OpenCLSmallWrite {
  /// The largest write made of fills; larger ones are blocking writes.
  static let largestBytes = 256

  /// The fills that write `count` bytes at byte `offset`: from each position the largest power
  /// of two up to 128 bytes (a fill's largest pattern) that the position is a multiple of and
  /// that fits in what is left; as `(start within the bytes, size)`.
  static func pieces(offset: Int, count: Int) -> [(start: Int, size: Int)] {
    var pieces: [(start: Int, size: Int)] = []
    var start = 0
    while start < count {
      var size = 128
      while size > 1 && ((offset + start) % size != 0 || size > count - start) { size /= 2 }
      pieces.append((start, size))
      start += size
    }
    return pieces
  }

  /// Enqueues the fills writing `bytes` (at most ``largestBytes``) at `offset` of `buffer`;
  /// the first failing call's status, else 0.
  static func enqueue(
    _ bytes: UnsafeRawBufferPointer, to buffer: OpenCLHandle, offset: Int, queue: OpenCLHandle, api: OpenCLAPI
  ) -> OpenCLAPI.Status {
    precondition(bytes.count <= largestBytes, "larger writes block")
    for piece in pieces(offset: offset, count: bytes.count) {
      let status = api.enqueueFillBuffer(
        queue.raw, buffer.raw, bytes.baseAddress! + piece.start, piece.size, offset + piece.start, piece.size, 0, nil,
        nil)
      guard status == 0 else { return status }
    }
    return 0
  }
}
