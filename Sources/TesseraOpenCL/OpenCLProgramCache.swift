import Foundation
import TesseraRuntime

/// How often programs came from each level of the cache (for tests and benchmarks).
public struct OpenCLCacheStatistics: Hashable, Sendable {
  /// Programs compiled from source by the driver.
  public var sourceBuilds = 0
  /// Programs loaded from a binary in the disk cache.
  public var diskLoads = 0
  /// Programs found already built in memory.
  public var memoryHits = 0
}

/// Builds OpenCL programs once per (source, device, driver version, options): first in memory,
/// then as program binaries under `${TESSERA_CACHE:-~/.cache/tessera}/opencl/<key>.bin`, keyed
/// by a hash of all four. A binary the driver rejects is ignored and rebuilt from source.
///
/// An injected `build` fault that hits one of a program's kernels bypasses both caches and has
/// the driver build the source with an `#error` line naming the kernel first: the build really
/// fails, with the driver's own log, and takes the path of any other build error.
final class OpenCLProgramCache: Sendable {
  /// The build options every program gets.
  static let buildOptions = "-cl-std=CL1.2"

  private let api: OpenCLAPI
  private let context: OpenCLHandle
  private let device: OpenCLDeviceID
  private let deviceKey: String
  /// Where binaries go; `nil` keeps programs in memory only.
  let directory: String?
  private let faults: FaultInjection
  private let deviceName: String
  private let built = Locked<[String: OpenCLHandle]>([:])
  private let counts = Locked(OpenCLCacheStatistics())

  /// `faults` and `deviceName` say which builds an injected `build` fault fails.
  init(
    api: OpenCLAPI, context: OpenCLHandle, device: OpenCLDeviceID, deviceKey: String, directory: String?,
    faults: FaultInjection, deviceName: String
  ) {
    self.api = api
    self.context = context
    self.device = device
    self.deviceKey = deviceKey
    self.directory = directory
    self.faults = faults
    self.deviceName = deviceName
  }

  /// The default folder: `$TESSERA_CACHE/opencl`, else `~/.cache/tessera/opencl`.
  static var defaultDirectory: String {
    let environment = ProcessInfo.processInfo.environment
    let root = environment["TESSERA_CACHE"] ?? (NSHomeDirectory() + "/.cache/tessera")
    return root + "/opencl"
  }

  /// Counts so far.
  var statistics: OpenCLCacheStatistics { counts.withLock { $0 } }

  /// The built program for `source`, which defines `kernels`; `name` labels it in errors.
  func program(source: String, name: String, kernels: [String]) throws(OpenCLError) -> OpenCLHandle {
    if let hit = faults.hit(.build, device: deviceName, targets: kernels) {
      return try compile("#error \(hit)\n" + source, name: name)
    }
    let key = Self.hash(source + "\u{0}" + deviceKey + "\u{0}" + Self.buildOptions)
    if let program = built.withLock({ $0[key] }) {
      counts.withLock { $0.memoryHits += 1 }
      return program
    }
    let path = directory.map { "\($0)/\(key).bin" }
    if let path, let binary = FileManager.default.contents(atPath: path), let program = try? load([UInt8](binary)) {
      counts.withLock { $0.diskLoads += 1 }
      built.withLock { $0[key] = program }
      return program
    }
    let program = try compile(source, name: name)
    counts.withLock { $0.sourceBuilds += 1 }
    if let path { save(program, to: path) }
    built.withLock { $0[key] = program }
    return program
  }

  private func compile(_ source: String, name: String) throws(OpenCLError) -> OpenCLHandle {
    var status: Int32 = 0
    let raw = source.withCString { text in
      var pointer: UnsafePointer<CChar>? = text
      var length = strlen(text)
      return api.createProgramWithSource(context.raw, 1, &pointer, &length, &status)
    }
    guard let raw, status == 0 else { throw .call(function: "clCreateProgramWithSource", code: status) }
    let program = OpenCLHandle(raw, api: api, release: \.releaseProgram)
    let result = build(program)
    guard result == 0 else {
      let log = buildLog(program)
      if result == -11 { throw .build(program: name, log: log, excerpt: Self.excerpt(of: source, near: log)) }
      throw .call(function: "clBuildProgram", code: result)
    }
    return program
  }

  private func load(_ binary: [UInt8]) throws(OpenCLError) -> OpenCLHandle {
    var status: Int32 = 0, binaryStatus: Int32 = 0
    var deviceHandle: OpaquePointer? = device.raw
    let raw = binary.withUnsafeBufferPointer { bytes in
      var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
      var length = bytes.count
      return api.createProgramWithBinary(context.raw, 1, &deviceHandle, &length, &pointer, &binaryStatus, &status)
    }
    guard let raw, status == 0, binaryStatus == 0 else {
      throw .call(function: "clCreateProgramWithBinary", code: status == 0 ? binaryStatus : status)
    }
    let program = OpenCLHandle(raw, api: api, release: \.releaseProgram)
    try api.check(build(program), "clBuildProgram")
    return program
  }

  private func build(_ program: OpenCLHandle) -> Int32 {
    var deviceHandle: OpaquePointer? = device.raw
    return api.buildProgram(program.raw, 1, &deviceHandle, Self.buildOptions, nil, nil)
  }

  private func buildLog(_ program: OpenCLHandle) -> String {
    var size = 0
    guard api.getProgramBuildInfo(program.raw, device.raw, CL.programBuildLog, 0, nil, &size) == 0, size > 0 else {
      return "(the driver gave no build log)"
    }
    var bytes = [UInt8](repeating: 0, count: size)
    _ = api.getProgramBuildInfo(program.raw, device.raw, CL.programBuildLog, size, &bytes, nil)
    return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
  }

  /// Writes the program's binary next to the others (atomically; failures only cost a rebuild).
  private func save(_ program: OpenCLHandle, to path: String) {
    var size = 0
    guard api.getProgramInfo(program.raw, CL.programBinarySizes, MemoryLayout<Int>.size, &size, nil) == 0, size > 0
    else { return }
    var binary = [UInt8](repeating: 0, count: size)
    let status = binary.withUnsafeMutableBufferPointer { bytes in
      var pointer: UnsafeMutablePointer<UInt8>? = bytes.baseAddress
      return api.getProgramInfo(
        program.raw, CL.programBinaries, MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil)
    }
    guard status == 0 else { return }
    let folder = (path as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try? Data(binary).write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  /// The source lines around the first `:line:column:` the log names, numbered, with the line
  /// marked; the first lines of the source when the log names none.
  static func excerpt(of source: String, near log: String) -> String {
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
    let target = firstLineNumber(in: log)
    let range = target.map { max(1, $0 - 3)...min(lines.count, $0 + 3) } ?? 1...min(lines.count, 8)
    return range.map { number in
      "\(number == target ? ">" : " ")\(String(number).leftPadded(to: 5)) | \(lines[number - 1])"
    }.joined(separator: "\n")
  }

  /// The first `N` in a `…:N:M:` location of a compiler message.
  private static func firstLineNumber(in log: String) -> Int? {
    for line in log.split(separator: "\n") {
      let parts = line.split(separator: ":", omittingEmptySubsequences: false)
      for index in parts.indices.dropLast() {
        if let number = Int(parts[index]), Int(parts[index + 1]) != nil, index > 0 { return number }
      }
    }
    return nil
  }

  /// A 128-bit FNV-1a hash (two 64-bit lanes) as 32 hex digits.
  static func hash(_ text: String) -> String {
    var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x6c62_272e_07bb_0142
    for byte in text.utf8 {
      a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
      b = (b ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 0x9e37_79b9
    }
    return [a, b].map { String($0, radix: 16).leftPadded(to: 16, with: "0") }.joined()
  }
}

extension String {
  fileprivate func leftPadded(to width: Int, with pad: Character = " ") -> String {
    String(repeating: pad, count: max(0, width - count)) + self
  }
}

/// A device id from discovery. Root devices are never released, so this is only a value.
///
/// Thread safety: `@unchecked Sendable` is safe because a `cl_device_id` is an immutable
/// identifier that OpenCL lets every thread pass to any call.
struct OpenCLDeviceID: @unchecked Sendable {
  /// The raw `cl_device_id`.
  let raw: OpaquePointer
}
