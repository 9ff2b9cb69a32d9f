/// What an injected fault makes a device do, at the point where the real failure would happen.
public enum FaultKind: String, CaseIterable, Sendable, Hashable {
  /// Allocating a buffer (the arena, an input, a weight) fails as if the device were out of memory.
  case alloc
  /// Building a kernel (an OpenCL program, a Vulkan compute pipeline) fails.
  case build
  /// A submission of kernels never completes: the run gives up on it with
  /// ``DeviceError/timeout(device:kernels:reason:)``. Nothing is submitted, so nothing is left
  /// running on the device.
  case timeout
}

/// One fault to inject: a kind, the devices it hits and, optionally, the one kernel (for `build`
/// and `timeout`) or buffer (for `alloc`) it hits. Its text form is `KIND:DEVICE[:kernel=NAME]` or
/// `alloc:DEVICE[:buffer=NAME]`, as in `TESSERA_FAULT` (see ``FaultInjection``).
public struct Fault: Hashable, Sendable, CustomStringConvertible {
  /// What fails.
  public var kind: FaultKind
  /// A device name (`opencl:1`) or a bare kind (`opencl`), which hits every device of that kind.
  public var device: String
  /// The kernel (`k3_matmul`) or buffer (`arena`, or an argument or constant name without `%`) the
  /// fault hits; `nil` hits the first one the device reaches.
  public var target: String?

  /// Creates a fault; `target` names a kernel for `build` and `timeout`, a buffer for `alloc`.
  public init(_ kind: FaultKind, device: String, target: String? = nil) {
    self.kind = kind
    self.device = device
    self.target = target
  }

  /// The key that names a ``target`` in the text form: `buffer` for `alloc`, else `kernel`.
  public var targetKey: String { kind == .alloc ? "buffer" : "kernel" }

  /// The text form, as `TESSERA_FAULT` takes it.
  public var description: String {
    "\(kind.rawValue):\(device)" + (target.map { ":\(targetKey)=\($0)" } ?? "")
  }

  /// Whether the fault hits the device called `name` (`opencl` hits `opencl:0` and `opencl:1`).
  public func hits(device name: String) -> Bool {
    name == device || name.hasPrefix(device + ":")
  }

  /// Whether the fault hits the kernel or buffer called `name`. Buffers are named as errors name
  /// them (`the arena`, `%x`), and match a target written `arena` or `x`.
  public func hits(target name: String) -> Bool {
    guard let target else { return true }
    return name == target || name == "%" + target || name == "the " + target
  }
}

/// Where an injected fault struck: the fault, and the kernel or buffer it hit.
public struct FaultHit: Hashable, Sendable, CustomStringConvertible {
  /// The fault.
  public var fault: Fault
  /// The kernel or buffer it hit.
  public var target: String

  /// Says what was injected, for error messages and logs.
  public var description: String { "injected fault \(fault) hit \(target)" }
}
