import Foundation

/// Faults a device injects on purpose, to exercise the paths a failing driver takes: the error
/// it reports, what it releases, and a fallback to another device.
///
/// The `TESSERA_FAULT` environment variable holds a comma-separated list, read by the `tessera`
/// command ("alloc:opencl", "build:vulkan:kernel=k3_matmul,timeout:opencl:1"); library users and
/// tests pass a value to the device providers instead. Each entry is `KIND:DEVICE[:FILTER]`:
/// - KIND: `alloc`, `build` or `timeout` (``FaultKind``);
/// - DEVICE: a device kind (`cpu`, `opencl`, `vulkan`…: every device of that kind) or one device
///   (`opencl:1`);
/// - FILTER: `kernel=NAME` for `build` and `timeout` (only the kernel of that name, or the
///   submission holding it), `buffer=NAME` for `alloc` (`arena`, or an argument or constant name).
///
/// Which device injects which kind: ``Device/injectableFaults``.
public struct FaultInjection: Hashable, Sendable, CustomStringConvertible {
  /// The environment variable ``fromEnvironment(_:)`` reads.
  public static let environmentVariable = "TESSERA_FAULT"

  /// The faults, in the order given.
  public var faults: [Fault]

  /// Injects `faults`; none by default.
  public init(_ faults: [Fault] = []) {
    self.faults = faults
  }

  /// Parses the text form; an empty or blank text means no faults. A malformed entry fails
  /// with ``DeviceError/invalidFault(entry:problem:)`` naming the entry and its bad part.
  public init(parsing text: String) throws(DeviceError) {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard !trimmed.isEmpty else {
      self.init()
      return
    }
    var faults: [Fault] = []
    for entry in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
      faults.append(try Self.parse(entry.trimmingCharacters(in: .whitespaces)))
    }
    self.init(faults)
  }

  /// The faults `TESSERA_FAULT` asks for in `environment` (the process's by default).
  public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
    throws(DeviceError) -> FaultInjection
  {
    try FaultInjection(parsing: environment[environmentVariable] ?? "")
  }

  /// True when no fault is injected.
  public var isEmpty: Bool { faults.isEmpty }

  /// The text form: the entries joined by commas.
  public var description: String { faults.map(\.description).joined(separator: ",") }

  /// The first fault of `kind` for the device called `device` that hits one of `targets` (the
  /// kernels of a build or a submission, or the one buffer being allocated), with the target it
  /// hits; `nil` when no fault applies.
  public func hit(_ kind: FaultKind, device: String, targets: [String]) -> FaultHit? {
    for fault in faults where fault.kind == kind && fault.hits(device: device) {
      if let target = targets.first(where: fault.hits(target:)) { return FaultHit(fault: fault, target: target) }
    }
    return nil
  }

  private static func parse(_ entry: String) throws(DeviceError) -> Fault {
    func invalid(_ problem: String) -> DeviceError { .invalidFault(entry: entry, problem: problem) }
    guard !entry.isEmpty else { throw invalid("an empty entry (two commas in a row, or one at an end?)") }
    var parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    let kinds = FaultKind.allCases.map(\.rawValue)
    guard let kind = FaultKind(rawValue: parts.removeFirst()) else {
      throw invalid("unknown fault kind '\(entry.prefix { $0 != ":" })' (expected \(kinds.joined(separator: ", ")))")
    }
    guard let deviceKind = parts.first else { throw invalid("no device (expected KIND:DEVICE)") }
    parts.removeFirst()
    let deviceKinds = DeviceKind.allCases.map(\.rawValue)
    guard deviceKinds.contains(deviceKind) else {
      throw invalid(
        "unknown device '\(deviceKind)' (expected \(deviceKinds.joined(separator: ", ")), optionally with :N)")
    }
    var device = deviceKind
    if let index = parts.first, !index.contains("=") {
      guard !index.isEmpty, index.allSatisfy({ ("0"..."9").contains($0) }), let number = Int(index) else {
        throw invalid("'\(index)' is not a device number (expected \(deviceKind):N)")
      }
      device += ":\(number)"
      parts.removeFirst()
    }
    let fault = Fault(kind, device: device)
    guard let filter = parts.first else { return fault }
    guard parts.count == 1 else { throw invalid("unexpected '\(parts.dropFirst().joined(separator: ":"))' at the end") }
    let pair = filter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    guard pair.count == 2, pair[0] == fault.targetKey else {
      throw invalid("unknown filter '\(filter)' (\(kind.rawValue) faults take \(fault.targetKey)=NAME)")
    }
    guard !pair[1].isEmpty else { throw invalid("'\(filter)' names no \(fault.targetKey)") }
    return Fault(kind, device: device, target: pair[1])
  }
}
