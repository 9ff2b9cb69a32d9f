import Foundation
import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// A compiled plan's kernels on one OpenCL device, for ``PlanRunner``: a kernel object per
/// device step (from its kernel's program), arguments set when a run of steps is encoded (kernel
/// objects are this graph's own, and the runner serialises runs), launches enqueued on the
/// device's in-order queue and flushed once per submission.
final class OpenCLPlanBackend: PlanBackend {
  /// The launches of one encoded run of steps, and the interleaved copies they read.
  private struct Encoded: Sendable {
    var launches: [OpenCLLaunch]
    var interleaved: [InterleavedBinding]
  }

  private let device: OpenCLDevice
  private let programs: [Kernel: OpenCLEntry]

  /// Runs kernels of `programs` (``OpenCLDevice/programs(for:owner:)``), built for a plan on
  /// `device`.
  init(device: OpenCLDevice, programs: [Kernel: OpenCLEntry]) {
    self.device = device
    self.programs = programs
  }

  var store: any TensorStore { device }
  var faults: FaultInjection { device.faults }
  var hostRunner: (any HostKernelRunner)? { device.hostRunner }
  /// Every launch has a profiling event (the queue profiles).
  /// A graph whose arena cannot be had fails to compile.
  var allocatesArenaAtCompile: Bool { true }
  var timesKernels: Bool { true }

  /// A kernel object for each step placed on this device; the others run on the host.
  func prepare(_ plan: CompiledPlan) throws(DeviceError) -> [StepPreparation] {
    try StepPreparation.each(of: plan) { call throws(DeviceError) in
      do throws(OpenCLError) {
        return try device.makeKernel(call.kernel, in: programs)
      } catch {
        throw .compileFailed(device: device.info.name, message: error.description)
      }
    }
  }

  /// Sets each kernel's arguments to the buffers and offsets of its values (a buffer read
  /// interleaved: the copy of its value, ``InterleavedCopies``).
  func encode(_ steps: [PreparedStep], plan: CompiledPlan, locate: (ValueID) -> ValueLocation) throws(DeviceError)
    -> any Sendable
  {
    var launches: [OpenCLLaunch] = []
    var interleaved: [InterleavedBinding] = []
    for step in steps {
      let kernel = step.kernel as! OpenCLHandle
      var locations: [(buffer: OpenCLHandle, offset: Int)] = []
      for (buffer, value) in zip(step.call.kernel.buffers, step.call.buffers) {
        let location = locate(value)
        if buffer.interleave != nil {
          let binding = try device.interleavedBinding(of: location, for: buffer)
          interleaved.append(binding)
          locations.append((binding.copy.memory.handle, 0))
        } else {
          locations.append(((location.memory as! OpenCLMemory).handle, location.offset))
        }
      }
      do {
        try device.setArguments(step.call, kernel, locations: locations)
      } catch {
        throw .kernelFailed(kernel: step.call.kernel.name, message: error.description)
      }
      if let launch = OpenCLLaunch(step.call, kernel) { launches.append(launch) }
    }
    return Encoded(launches: launches, interleaved: interleaved)
  }

  /// Enqueues every launch and flushes; when profiling, waits and reads each event's times. On a
  /// CPU driver the launches run under ``CPUDriverRuns`` to their end.
  func submit(_ encoded: any Sendable, profile: Bool) throws(DeviceError) -> [KernelTiming] {
    for binding in (encoded as! Encoded).interleaved { try device.refresh(binding) }
    guard device.properties.isCPU else { return try launch(encoded, profile: profile) }
    CPUDriverRuns.lock.lock()
    defer { CPUDriverRuns.lock.unlock() }
    let timings = try launch(encoded, profile: profile)
    do throws(OpenCLError) {
      try device.finishQueue()
    } catch {
      throw .kernelFailed(kernel: "opencl queue", message: error.description)
    }
    return timings
  }

  /// ``submit(_:profile:)``'s launches.
  private func launch(_ encoded: any Sendable, profile: Bool) throws(DeviceError) -> [KernelTiming] {
    let api = device.api
    var events: [(String, OpenCLHandle)] = []
    try TraceRecorder.span("enqueue") { () throws(DeviceError) in
      for launch in (encoded as! Encoded).launches {
        do throws(OpenCLError) {
          if let event = try device.launch(launch, profile: profile) { events.append((launch.name, event)) }
        } catch {
          throw .kernelFailed(kernel: launch.name, message: error.description)
        }
      }
    }
    do {
      try api.check(api.flush(device.queue.raw), "clFlush")
      if profile { try TraceRecorder.span("wait (clFinish)") { () throws(OpenCLError) in try device.finishQueue() } }
    } catch {
      throw .kernelFailed(kernel: "opencl queue", message: error.description)
    }
    let times = events.map { name, event in
      let start = api.value(api.getEventProfilingInfo, event.raw, CL.profilingCommandStart, as: UInt64.self) ?? 0
      let end = api.value(api.getEventProfilingInfo, event.raw, CL.profilingCommandEnd, as: UInt64.self) ?? start
      return (name, start, end)
    }
    let first = times.map(\.1).min() ?? 0
    return times.map { name, start, end in
      KernelTiming(kernel: name, seconds: Double(end &- start) / 1e9, start: Double(start &- first) / 1e9)
    }
  }
}

/// One run at a time in the process on OpenCL CPU drivers. PoCL 3.1 keeps one cache of kernel
/// libraries for the process, keyed by a kernel's hash and local size but holding an entry per
/// specialisation (a small or a large grid): two runs of one kernel with different grids at once
/// can release one entry twice, and PoCL aborts (`pocl_release_dlhandle_cache: Assertion
/// found->ref_count > 0`; seen once in the test suite, whose suites run in parallel). The
/// driver runs a kernel on every core anyway, so runs in sequence cost little.
enum CPUDriverRuns {
  /// Held from a run's first launch to its end.
  static let lock = NSLock()
}

/// A buffer of an OpenCL device: the memory of its device tensors and of compiled graphs,
/// counted in the device's ``AllocationCounter`` until the `cl_mem` is released with it.
final class OpenCLMemory: DeviceMemory {
  /// The `cl_mem`.
  let handle: OpenCLHandle
  /// What it holds, for errors.
  let name: String
  let byteCount: Int
  /// Copies of its block-quantized values with rows interleaved, and the writes they follow.
  let interleaved = InterleavedCopies()
  private let counted: CountedAllocation

  /// Wraps `handle`, a buffer of `counted.bytes` bytes holding `byteCount` usable ones.
  init(handle: OpenCLHandle, name: String, byteCount: Int, counted: CountedAllocation) {
    self.handle = handle
    self.name = name
    self.byteCount = byteCount
    self.counted = counted
  }

  /// The buffer's size as the driver was asked for it.
  var allocatedBytes: Int { counted.bytes }
}

/// The device's memory: buffers, and copies in order on its queue.
extension OpenCLDevice: TensorStore {
  /// The device's name.
  public var deviceName: String { info.name }

  /// Bytes of the live buffers this store created (``allocate(bytes:name:)``, uploads), at the
  /// sizes the driver was asked for; a host runner's one-launch buffers and interop buffers are
  /// not counted.
  public var allocatedBytes: Int { allocations.bytes }

  /// A read-write buffer; an injected `alloc` fault for `name` fails it as the driver would.
  public func allocate(bytes: Int, name: String) throws(DeviceError) -> any DeviceMemory {
    do {
      let handle = try makeBuffer(name, bytes)
      return OpenCLMemory(
        handle: handle, name: name, byteCount: bytes, counted: allocations.count(Self.bufferBytes(bytes)))
    } catch {
      guard case .memory(let buffer, let size, let function, let code) = error else {
        throw .allocationFailed(device: info.name, buffer: name, bytes: bytes, message: error.description)
      }
      throw .allocationFailed(
        device: info.name, buffer: buffer, bytes: size,
        message: OpenCLError.call(function: function, code: code).description)
    }
  }

  /// A write in order with the queue's commands: blocking, or up to
  /// ``OpenCLSmallWrite/largestBytes`` queued as fills without waiting (a step's inputs).
  public func write(_ bytes: UnsafeRawBufferPointer, to memory: any DeviceMemory, at offset: Int) throws(DeviceError) {
    let memory = memory as! OpenCLMemory
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    memory.interleaved.writes.add(1, ordering: .releasing)
    let small = bytes.count <= OpenCLSmallWrite.largestBytes
    let status =
      small
      ? OpenCLSmallWrite.enqueue(bytes, to: memory.handle, offset: offset, queue: queue, api: api)
      : api.enqueueWriteBuffer(queue.raw, memory.handle.raw, 1, offset, bytes.count, base, 0, nil, nil)
    guard status == 0 else {
      throw .kernelFailed(
        kernel: "copy to \(memory.name)",
        message: OpenCLError.memory(
          buffer: memory.name, bytes: bytes.count, function: small ? "clEnqueueFillBuffer" : "clEnqueueWriteBuffer",
          code: status
        ).description)
    }
  }

  /// A blocking read: every command enqueued before it has finished when it returns.
  public func read(_ memory: any DeviceMemory, at offset: Int, count: Int) throws(DeviceError) -> [UInt8] {
    let memory = memory as! OpenCLMemory
    do {
      return try read(count, from: memory.handle, offset: offset, name: memory.name)
    } catch {
      throw .kernelFailed(kernel: "copy from \(memory.name)", message: error.description)
    }
  }
}
