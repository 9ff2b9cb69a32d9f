import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// The queue commands every run is made of: buffers, copies, kernel objects and launches. Each
/// error names the buffer or kernel involved.
extension OpenCLDevice {
  /// A new read-write buffer of at least `bytes` bytes (4 for empty values). An injected `alloc`
  /// fault for `name` fails it as the driver would, with `CL_MEM_OBJECT_ALLOCATION_FAILURE`.
  func makeBuffer(_ name: String, _ bytes: Int) throws(OpenCLError) -> OpenCLHandle {
    var status: Int32 = 0
    let size = Self.bufferBytes(bytes)
    if faults.hit(.alloc, device: info.name, targets: [name]) != nil {
      throw .memory(buffer: name, bytes: size, function: "clCreateBuffer", code: CL.memObjectAllocationFailure)
    }
    guard let raw = api.createBuffer(context.raw, CL.memReadWrite, size, nil, &status), status == 0 else {
      throw .memory(buffer: name, bytes: size, function: "clCreateBuffer", code: status)
    }
    return OpenCLHandle(raw, api: api, release: \.releaseMemObject)
  }

  /// The size of the buffer ``makeBuffer(_:_:)`` creates for `bytes` bytes.
  static func bufferBytes(_ bytes: Int) -> Int { max(bytes, 4) }

  /// A blocking write, so `bytes` need not outlive the call.
  func write(_ bytes: [UInt8], to buffer: OpenCLHandle, offset: Int, name: String) throws(OpenCLError) {
    guard !bytes.isEmpty else { return }
    let status = api.enqueueWriteBuffer(queue.raw, buffer.raw, 1, offset, bytes.count, bytes, 0, nil, nil)
    guard status == 0 else {
      throw .memory(buffer: name, bytes: bytes.count, function: "clEnqueueWriteBuffer", code: status)
    }
  }

  /// A blocking read: every command enqueued before it has finished when it returns.
  func read(_ size: Int, from buffer: OpenCLHandle, offset: Int, name: String) throws(OpenCLError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: size)
    guard size > 0 else { return bytes }
    let status = api.enqueueReadBuffer(queue.raw, buffer.raw, 1, offset, size, &bytes, 0, nil, nil)
    guard status == 0 else { throw .memory(buffer: name, bytes: size, function: "clEnqueueReadBuffer", code: status) }
    return bytes
  }

  /// Sets the arguments of `call` (each buffer as its memory object and byte offset, then the
  /// scalars) and enqueues the launch. Returns the profiling event when `profile` is set;
  /// launches nothing for an empty global size.
  func enqueue(
    _ call: KernelCall, _ kernel: OpenCLHandle, locations: [(buffer: OpenCLHandle, offset: Int)], profile: Bool
  ) throws(OpenCLError) -> OpenCLHandle? {
    try setArguments(call, kernel, locations: locations)
    guard let launch = OpenCLLaunch(call, kernel) else { return nil }
    return try self.launch(launch, profile: profile)
  }

  /// Sets the arguments of `call` on `kernel`: each buffer as its memory object and byte
  /// offset, then the scalars.
  func setArguments(_ call: KernelCall, _ kernel: OpenCLHandle, locations: [(buffer: OpenCLHandle, offset: Int)])
    throws(OpenCLError)
  {
    let name = call.kernel.name
    for (position, location) in locations.enumerated() {
      var memory: OpaquePointer? = location.buffer.raw
      var byteOffset = UInt32(location.offset)
      let parameter = call.kernel.buffers[position].name
      for status in [
        api.setKernelArg(kernel.raw, UInt32(2 * position), MemoryLayout<OpaquePointer?>.size, &memory),
        api.setKernelArg(kernel.raw, UInt32(2 * position + 1), 4, &byteOffset),
      ] where status != 0 {
        throw .launch(kernel: name, buffer: parameter, function: "clSetKernelArg", code: status)
      }
    }
    for (position, scalar) in call.kernel.scalars.enumerated() {
      let index = UInt32(2 * locations.count + position)
      let value = call.scalars[scalar.name] ?? 0
      var integer = Int32(value), real = Float(value)
      let status =
        scalar.dtype == .f32
        ? api.setKernelArg(kernel.raw, index, 4, &real) : api.setKernelArg(kernel.raw, index, 4, &integer)
      guard status == 0 else {
        throw .launch(kernel: name, buffer: "$" + scalar.name, function: "clSetKernelArg", code: status)
      }
    }
  }

  /// Enqueues `launch`, whose kernel's arguments are set. Returns the profiling event when
  /// `profile` is set.
  func launch(_ launch: OpenCLLaunch, profile: Bool) throws(OpenCLError) -> OpenCLHandle? {
    var event: OpaquePointer?
    let status = withUnsafeMutablePointer(to: &event) { pointer in
      api.enqueueNDRangeKernel(
        queue.raw, launch.kernel.raw, UInt32(launch.local.count), nil, launch.global, launch.local, 0, nil,
        profile ? pointer : nil)
    }
    guard status == 0 else {
      throw .launch(kernel: launch.name, buffer: nil, function: "clEnqueueNDRangeKernel", code: status)
    }
    return event.map { OpenCLHandle($0, api: api, release: \.releaseEvent) }
  }
}

/// One kernel launch as the queue takes it: the kernel object and its global and workgroup
/// sizes, worked out once (a run of a plan enqueues the same launches at every step).
struct OpenCLLaunch: @unchecked Sendable {
  /// The kernel object, its arguments set.
  let kernel: OpenCLHandle
  /// The kernel's name, for errors and timings.
  let name: String
  /// Work-items per dimension: whole workgroups.
  let global: [Int]
  /// The workgroup size.
  let local: [Int]

  /// `call` on `kernel`: whole workgroups covering its global size; `nil` for an empty grid.
  init?(_ call: KernelCall, _ kernel: OpenCLHandle) {
    let counts = call.kernel.groupCounts(call.scalars)
    guard !counts.contains(where: { $0 <= 0 }) else { return nil }
    self.kernel = kernel
    name = call.kernel.name
    local = call.kernel.workgroupSize
    global = zip(counts, local).map { $0 * $1 }
  }
}

/// The device runs single kernel launches too (each buffer copied in, written ones copied out),
/// so it can serve as another device's host runner and tests can compare it with the KIR
/// interpreter kernel by kernel.
extension OpenCLDevice: HostKernelRunner {
  /// Runs `call` with `buffers` in the kernel's buffer order; returns every buffer afterwards.
  public func run(_ call: KernelCall, buffers: [Tensor]) throws(DeviceError) -> [Tensor] {
    do {
      let kernel = try makeKernel(call.kernel, in: programs(for: [call.kernel], owner: nil))
      var memory: [OpenCLHandle] = []
      for (parameter, tensor) in zip(call.kernel.buffers, buffers) {
        let buffer = try makeBuffer(parameter.name, tensor.bytes.count)
        try write(tensor.bytes, to: buffer, offset: 0, name: parameter.name)
        memory.append(buffer)
      }
      _ = try enqueue(call, kernel, locations: memory.map { ($0, 0) }, profile: false)
      var results: [Tensor] = []
      for (index, tensor) in buffers.enumerated() {
        let written = call.kernel.buffers[index].access != .read
        let bytes =
          written
          ? try read(tensor.bytes.count, from: memory[index], offset: 0, name: call.kernel.buffers[index].name)
          : tensor.bytes
        results.append(Tensor(type: tensor.type, bytes: bytes)!)
      }
      return results
    } catch {
      throw .kernelFailed(kernel: call.kernel.name, message: error.description)
    }
  }
}
