import TesseraIR

/// Bytes a device holds for one tensor or buffer. Each backend has its own type (an OpenCL
/// `cl_mem`, a Vulkan buffer, host bytes on `cpu`) and releases the memory in its `deinit`, so
/// memory lives exactly as long as the last ``DeviceTensor`` or compiled graph holding it.
public protocol DeviceMemory: AnyObject, Sendable {
  /// Bytes usable from offset 0.
  var byteCount: Int { get }
  /// Bytes of device memory this object holds now, as its store counts them in
  /// ``TensorStore/allocatedBytes`` (what the store allocated for it, and what it made of it since,
  /// such as the `cpu` device's repacked tiles); 0 for host bytes a store reads in place.
  var allocatedBytes: Int { get }
}

/// Where a device keeps tensors: allocation and copies between the host and the device.
///
/// Every ``Device`` has one (``Device/store``); ``DeviceTensor`` and ``PlanRunner`` reach device
/// memory only through it. Errors name the buffer (`%x`, `the arena`).
public protocol TensorStore: AnyObject, Sendable {
  /// The device's name (`cpu`, `opencl:0`…), for errors and checks.
  var deviceName: String { get }
  /// Bytes of device memory this store's allocations hold now: counted when the store allocates
  /// them (``allocate(bytes:name:)``, an ``upload(_:name:)`` that copies, and whatever a device
  /// makes of its memory later, such as repacked weights and staging twins) and uncounted when the
  /// memory object holding them deinitialises. Host bytes the store reads in place (a tensor
  /// borrowed by `cpu`) are not its allocations and are not counted. See ``AllocationCounter``.
  var allocatedBytes: Int { get }
  /// New memory of at least `bytes` bytes; `name` says what it is for (errors, injected faults).
  func allocate(bytes: Int, name: String) throws(DeviceError) -> any DeviceMemory
  /// Copies `bytes` from the host into `memory` at byte `offset`.
  func write(_ bytes: UnsafeRawBufferPointer, to memory: any DeviceMemory, at offset: Int) throws(DeviceError)
  /// Copies `count` bytes at byte `offset` of `memory` to the host, after every earlier command
  /// that writes it has finished.
  func read(_ memory: any DeviceMemory, at offset: Int, count: Int) throws(DeviceError) -> [UInt8]
  /// Memory holding `tensor` for as long as it lives (a parameter or state). The default
  /// allocates and writes; a device may keep the tensor's own bytes instead (`cpu`) and prepare
  /// other layouts of it there (the `cpu` device's quantized tiles).
  func upload(_ tensor: Tensor, name: String) throws(DeviceError) -> any DeviceMemory
}

extension TensorStore {
  /// Allocates memory for `tensor` and writes its bytes.
  public func upload(_ tensor: Tensor, name: String) throws(DeviceError) -> any DeviceMemory {
    let memory = try allocate(bytes: tensor.type.storageBytes ?? 0, name: name)
    try tensor.withUnsafeBytes { bytes throws(DeviceError) in try write(bytes, to: memory, at: 0) }
    return memory
  }
}

/// A tensor that lives on one device: a type and the device memory holding its bytes.
///
/// Made by ``Device/upload(_:name:)`` or ``Device/allocate(_:name:)``, read back with
/// ``read()`` only when asked. Give it to ``CompiledGraph/run(_:)`` as ``TensorValue/device(_:)``
/// so a run reads it in place; a graph that updates it in place (`update_slice` of an argument,
/// see ``Graph/inPlaceUpdates``) writes its bytes there and returns the same tensor. The memory is
/// freed when the last reference to it goes.
public final class DeviceTensor: Sendable, CustomStringConvertible {
  /// Element type and shape.
  public let type: TensorType
  /// The bytes on the device.
  public let memory: any DeviceMemory
  /// The store the memory belongs to.
  public let store: any TensorStore
  private let writes = Locked(0)

  /// Wraps `memory` of `store` holding a tensor of `type`.
  public init(type: TensorType, memory: any DeviceMemory, store: any TensorStore) {
    self.type = type
    self.memory = memory
    self.store = store
  }

  /// The device's name.
  public var deviceName: String { store.deviceName }

  /// Bytes of the tensor.
  public var byteCount: Int { type.storageBytes ?? 0 }

  /// A host copy of the bytes.
  public func read() throws(DeviceError) -> Tensor {
    Tensor(type: type, bytes: try store.read(memory, at: 0, count: byteCount))!
  }

  /// Overwrites the bytes with `tensor`'s, which must have this tensor's type.
  public func write(_ tensor: Tensor) throws(DeviceError) {
    guard tensor.type == type else { throw .inputType(name: "device tensor", expected: type, found: tensor.type) }
    try tensor.withUnsafeBytes { bytes throws(DeviceError) in try store.write(bytes, to: memory, at: 0) }
    markWritten()
  }

  /// How many times the bytes have been written since the tensor was made (``write(_:)``, and
  /// every run that updated it in place): values derived from the tensor and kept between runs
  /// (``DerivedValueCache``) are recomputed when it changes.
  public var generation: Int { writes.withLock { $0 } }

  /// Counts a write made to the memory directly (a kernel updating the tensor in place).
  public func markWritten() { writes.withLock { $0 += 1 } }

  /// `DeviceTensor(f32[2,3] on cpu)`.
  public var description: String { "DeviceTensor(\(type) on \(deviceName))" }
}

/// A graph input or result: a host tensor or a tensor on the device.
public enum TensorValue: Sendable {
  /// Host bytes (uploaded for the run where the device needs them there).
  case host(Tensor)
  /// A tensor already on the device, read in place.
  case device(DeviceTensor)

  /// Element type and shape.
  public var type: TensorType {
    switch self {
    case .host(let tensor): tensor.type
    case .device(let tensor): tensor.type
    }
  }

  /// The value as a host tensor (a device tensor is read back).
  public func hostTensor() throws(DeviceError) -> Tensor {
    switch self {
    case .host(let tensor): tensor
    case .device(let tensor): try tensor.read()
    }
  }
}

/// Host bytes as device memory: the memory of devices that compute on the host's own memory
/// (the reference evaluator, the Kernel IR interpreter, the emulated NPU).
///
/// Thread safety: `@unchecked Sendable`; the bytes are read and written under the lock.
public final class HostMemory: DeviceMemory, @unchecked Sendable {
  private let bytes: Locked<[UInt8]>
  private let counted: CountedAllocation
  /// Bytes held.
  public let byteCount: Int

  /// `count` zero bytes, counted in `counter` while they live.
  public init(count: Int, counter: AllocationCounter) {
    bytes = Locked([UInt8](repeating: 0, count: count))
    byteCount = count
    counted = counter.count(count)
  }

  /// ``byteCount``: every byte is this memory's own.
  public var allocatedBytes: Int { counted.bytes }

  /// Copies `source` in at `offset`.
  public func write(_ source: UnsafeRawBufferPointer, at offset: Int) {
    bytes.withLock { bytes in
      bytes.withUnsafeMutableBytes { target in
        guard let base = source.baseAddress, !source.isEmpty else { return }
        (target.baseAddress! + offset).copyMemory(from: base, byteCount: source.count)
      }
    }
  }

  /// `count` bytes from `offset`. All of them are the held array itself, shared until either side
  /// writes (so a run that reads a weight whole does not copy it).
  public func read(at offset: Int, count: Int) -> [UInt8] {
    bytes.withLock { offset == 0 && count == $0.count ? $0 : Array($0[offset..<(offset + count)]) }
  }
}

/// The store of devices that compute on host memory: ``HostMemory`` allocations, copies with
/// `memcpy`.
public final class HostTensorStore: TensorStore {
  /// The device's name.
  public let deviceName: String
  private let allocations = AllocationCounter()

  /// A store for the device called `deviceName`.
  public init(deviceName: String) { self.deviceName = deviceName }

  /// Bytes of the live ``HostMemory`` this store allocated (uploads included: they are copies).
  public var allocatedBytes: Int { allocations.bytes }

  /// Zeroed host bytes.
  public func allocate(bytes: Int, name: String) throws(DeviceError) -> any DeviceMemory {
    HostMemory(count: bytes, counter: allocations)
  }

  /// Counts `bytes` the device holds in memory of its own (the reference's kept weight-only
  /// values) in ``allocatedBytes`` until the returned token deinitialises.
  public func countHeld(_ bytes: Int) -> CountedAllocation { allocations.count(bytes) }

  /// Copies into the host bytes.
  public func write(_ bytes: UnsafeRawBufferPointer, to memory: any DeviceMemory, at offset: Int) throws(DeviceError) {
    try host(memory).write(bytes, at: offset)
  }

  /// Copies out of the host bytes.
  public func read(_ memory: any DeviceMemory, at offset: Int, count: Int) throws(DeviceError) -> [UInt8] {
    try host(memory).read(at: offset, count: count)
  }

  private func host(_ memory: any DeviceMemory) throws(DeviceError) -> HostMemory {
    guard let host = memory as? HostMemory else {
      throw .kernelFailed(kernel: "copy", message: "memory of another device given to \(deviceName)")
    }
    return host
  }
}
