import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// A compiled plan on one OpenCL device: its kernel objects and buffers (one arena for every
/// intermediate, one buffer per weight and per input, as the memory plan says).
///
/// A run uploads the inputs, enqueues every kernel in order on the in-order queue, flushes once
/// and reads the results back. Steps planned for the fallback device copy their buffers to the
/// host, run on the host runner and copy the written buffers back. An injected `timeout` fault
/// fails a run at its submission, before anything is written or enqueued.
final class OpenCLExecutable: ProfilingExecutable {
  private let plan: CompiledPlan
  private let device: OpenCLDevice
  private let program: OpenCLHandle
  private let kernels: [Int: OpenCLHandle]
  private let arena: OpenCLHandle?
  private let fixed: [ValueID: OpenCLHandle]
  /// Held for a whole run: kernel arguments belong to the kernel objects, shared by all runs.
  private let runLock = Lock()

  init(plan: CompiledPlan, device: OpenCLDevice, program: OpenCLHandle) throws(OpenCLError) {
    self.plan = plan
    self.device = device
    self.program = program
    var kernels: [Int: OpenCLHandle] = [:]
    for (index, step) in plan.steps.enumerated() where step.device == device.capabilities.name {
      guard let call = step.call else { continue }
      kernels[index] = try device.makeKernel(call.kernel, in: program)
    }
    self.kernels = kernels
    arena = plan.memory.arenaBytes > 0 ? try device.makeBuffer("the arena", plan.memory.arenaBytes) : nil
    var fixed: [ValueID: OpenCLHandle] = [:]
    for argument in plan.graph.arguments {
      fixed[argument] = try device.makeBuffer("%" + plan.graph[argument].name, plan.memory.bytes[argument] ?? 0)
    }
    for step in plan.steps where step.group.kind == .constant {
      let value = step.group.root, literal = plan.graph.nodes[step.group.nodes[0]].literal!
      let buffer = try device.makeBuffer("%" + plan.graph[value].name, literal.bytes.count)
      try device.write(literal.bytes, to: buffer, offset: 0, name: "%" + plan.graph[value].name)
      fixed[value] = buffer
    }
    self.fixed = fixed
  }

  func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    try run(inputs, profile: false).results
  }

  func executeProfiled(_ inputs: [Tensor]) throws(DeviceError) -> (results: [Tensor], kernels: [KernelTiming]) {
    try run(inputs, profile: true)
  }

  private func run(_ inputs: [Tensor], profile: Bool) throws(DeviceError) -> (
    results: [Tensor], kernels: [KernelTiming]
  ) {
    let submitted = kernels.keys.sorted().map { plan.steps[$0].call!.kernel.name }
    if let hit = device.faults.hit(.timeout, device: device.info.name, targets: submitted) {
      throw .timeout(device: device.info.name, kernels: submitted, reason: hit.description)
    }
    do {
      return try runLock.withLock { () throws(OpenCLError) in try runLocked(inputs, profile: profile) }
    } catch {
      throw .kernelFailed(kernel: "@" + plan.graph.name, message: error.description)
    }
  }

  private func runLocked(_ inputs: [Tensor], profile: Bool) throws(OpenCLError) -> (
    results: [Tensor], kernels: [KernelTiming]
  ) {
    let api = device.api
    for (argument, input) in zip(plan.graph.arguments, inputs) where !input.bytes.isEmpty {
      try device.write(input.bytes, to: fixed[argument]!, offset: 0, name: "%" + plan.graph[argument].name)
    }
    var events: [(String, OpenCLHandle)] = []
    for (index, step) in plan.steps.enumerated() {
      guard let call = step.call else { continue }
      if let kernel = kernels[index] {
        let locations = call.buffers.map(location)
        if let event = try device.enqueue(call, kernel, locations: locations, profile: profile) {
          events.append((call.kernel.name, event))
        }
      } else {
        try runOnHost(call)
      }
    }
    try api.check(api.flush(device.queue.raw), "clFlush")
    let results = try plan.graph.results.map { value throws(OpenCLError) in try read(value) }
    var timings: [KernelTiming] = []
    for (name, event) in events {
      let start = api.value(api.getEventProfilingInfo, event.raw, CL.profilingCommandStart, as: UInt64.self) ?? 0
      let end = api.value(api.getEventProfilingInfo, event.raw, CL.profilingCommandEnd, as: UInt64.self) ?? start
      timings.append(KernelTiming(kernel: name, seconds: Double(end &- start) / 1e9))
    }
    return (results, timings)
  }

  /// Where a value's bytes live: its buffer and byte offset.
  private func location(_ value: ValueID) -> (buffer: OpenCLHandle, offset: Int) {
    let storage = plan.memory.storage(of: value)
    if let buffer = fixed[storage] { return (buffer, 0) }
    guard case .arena(let offset)? = plan.memory.homes[storage], let arena else {
      preconditionFailure("the memory plan gives %\(plan.graph[value].name) no home")
    }
    return (arena, offset)
  }

  /// Runs a fallback step on the host: copies its buffers out, runs, copies written ones back.
  private func runOnHost(_ call: KernelCall) throws(OpenCLError) {
    let buffers = try call.buffers.map { value throws(OpenCLError) in try read(value) }
    let outputs: [Tensor]
    do {
      outputs = try device.hostRunner!.run(call, buffers: buffers)
    } catch {
      throw .launch(kernel: call.kernel.name + " (on the host)", buffer: nil, function: error.description, code: 0)
    }
    for (position, parameter) in call.kernel.buffers.enumerated() where parameter.access != .read {
      let (buffer, offset) = location(call.buffers[position])
      let name = "%" + plan.graph[call.buffers[position]].name
      try device.write(outputs[position].bytes, to: buffer, offset: offset, name: name)
    }
  }

  /// A value's bytes, read back (blocking, so every command before it has finished).
  private func read(_ value: ValueID) throws(OpenCLError) -> Tensor {
    let type = plan.graph.type(of: value)
    let (buffer, offset) = location(value)
    let bytes = try device.read(
      type.storageBytes ?? 0, from: buffer, offset: offset, name: "%" + plan.graph[value].name)
    return Tensor(type: type, bytes: bytes)!
  }
}
