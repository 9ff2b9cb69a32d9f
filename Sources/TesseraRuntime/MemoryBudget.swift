import TesseraCompiler

extension MemoryPlan {
  /// Bytes a device holds at the peak of one run: the inputs, the constants and the arena
  /// (which holds every intermediate and result at its peak).
  public var peakDeviceBytes: Int {
    let inputs = homes.filter { $0.value == .input }.keys.reduce(0) { $0 + (bytes[$1] ?? 0) }
    return inputs + weightBytes + arenaBytes
  }
}

extension DeviceInfo {
  /// Fails with ``DeviceError/outOfMemory(device:needed:available:)`` when `plan` needs more
  /// than the memory this device reports; call it before allocating anything for the plan.
  public func checkMemory(for plan: CompiledPlan) throws(DeviceError) {
    guard let memoryBytes else { return }
    let needed = plan.memory.peakDeviceBytes
    guard needed <= memoryBytes else { throw .outOfMemory(device: name, needed: needed, available: memoryBytes) }
  }
}
