import Foundation
import TesseraCompiler
import TesseraRuntime

/// How often kernel bodies came from each level of the cache, and how many programs the driver
/// compiled for them (for tests and benchmarks).
public struct OpenCLCacheStatistics: Hashable, Sendable {
  /// Kernel bodies compiled from source by the driver (alone or in a shared program).
  public var sourceBuilds = 0
  /// Kernel bodies loaded from a binary in the disk cache (their own, or a shared program's).
  public var diskLoads = 0
  /// Kernel bodies found already built in memory.
  public var memoryHits = 0
  /// Programs the driver compiled from source: one per kernel body built alone, one per
  /// shared program.
  public var driverBuilds = 0

  /// Counts with the given numbers of kernel bodies; `driverBuilds` defaults to one program per
  /// body built from source.
  public init(sourceBuilds: Int = 0, diskLoads: Int = 0, memoryHits: Int = 0, driverBuilds: Int? = nil) {
    self.sourceBuilds = sourceBuilds
    self.diskLoads = diskLoads
    self.memoryHits = memoryHits
    self.driverBuilds = driverBuilds ?? sourceBuilds
  }
}

/// A built program and the name of the kernel function that one kernel body has in it: the
/// program's only kernel, or one of a shared program's.
struct OpenCLEntry: Sendable {
  /// The built program.
  let program: OpenCLHandle
  /// The kernel function's name in `program`, for `clCreateKernel`.
  let function: String
}

/// Builds OpenCL programs once per (source, device, driver version, options): first in memory,
/// then as program binaries under `${TESSERA_CACHE:-~/.cache/tessera}/opencl/<key>.bin`, keyed
/// by a hash of all four. A binary the driver rejects is ignored and rebuilt from source.
///
/// Several kernel bodies can be built as one shared program (``buildShared(_:source:name:)``):
/// its binary is saved once, as `<shared key>.bin`, and each body's key gets a `<key>.ref` file
/// naming that binary and the body's function in it, so a later lookup of any one body finds it.
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
  /// Built kernel bodies by key.
  private let built = Locked<[String: OpenCLEntry]>([:])
  /// Shared programs loaded from disk by their key, so that their bodies load them once.
  private let sharedLoads = Locked<[String: OpenCLHandle]>([:])
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
  static var defaultDirectory: String { CacheFolder.root + "/opencl" }

  /// Counts so far.
  var statistics: OpenCLCacheStatistics { counts.withLock { $0 } }

  /// The built program for `source`, a program whose one kernel is `kernels`' body, named
  /// ``OpenCLCodegen/entryFunction``; `name` labels it in errors.
  func program(source: String, name: String, kernels: [String]) throws(OpenCLError) -> OpenCLEntry {
    if let hit = faults.hit(.build, device: deviceName, targets: kernels) {
      return OpenCLEntry(program: try compile("#error \(hit)\n" + source, name: name), function: Self.entryFunction)
    }
    if let entry = cached(source: source) { return entry }
    let program = try compile(source, name: name)
    counts.withLock {
      $0.sourceBuilds += 1
      $0.driverBuilds += 1
    }
    let key = key(of: source)
    if let directory { save(program, to: "\(directory)/\(key).bin") }
    let entry = OpenCLEntry(program: program, function: Self.entryFunction)
    built.withLock { $0[key] = entry }
    return entry
  }

  /// The kernel body of the one-kernel program `source` when it was built before: in memory, or
  /// on disk as its own binary or as an entry of a shared program's. `nil` when it must be built,
  /// or when an injected `build` fault names one of `kernels`.
  func cached(source: String, kernels: [String] = []) -> OpenCLEntry? {
    guard !buildFaultHits(kernels) else { return nil }
    let key = key(of: source)
    if let entry = built.withLock({ $0[key] }) {
      counts.withLock { $0.memoryHits += 1 }
      return entry
    }
    guard let directory, let entry = loadEntry(key: key, directory: directory) else { return nil }
    counts.withLock { $0.diskLoads += 1 }
    built.withLock { $0[key] = entry }
    return entry
  }

  /// Builds several kernel bodies as one program. `bodies` are their one-kernel programs (each
  /// keys its body in the cache, as ``program(source:name:kernels:)`` would), `source` the
  /// shared program, which defines body `i` as the function `bodies[i].function`; `name` labels
  /// it in errors. Returns the bodies' entries in order.
  func buildShared(_ bodies: [(source: String, function: String)], source: String, name: String)
    throws(OpenCLError) -> [OpenCLEntry]
  {
    let program = try compile(source, name: name)
    counts.withLock {
      $0.sourceBuilds += bodies.count
      $0.driverBuilds += 1
    }
    let sharedKey = key(of: source)
    if let directory { save(program, to: "\(directory)/\(sharedKey).bin") }
    return bodies.map { body in
      let key = key(of: body.source)
      if let directory {
        try? Data("\(sharedKey) \(body.function)".utf8).write(
          to: URL(fileURLWithPath: "\(directory)/\(key).ref"), options: .atomic)
      }
      let entry = OpenCLEntry(program: program, function: body.function)
      built.withLock { $0[key] = entry }
      return entry
    }
  }

  /// Whether an injected `build` fault names one of `kernels` (whose build must then really fail).
  func buildFaultHits(_ kernels: [String]) -> Bool {
    faults.hit(.build, device: deviceName, targets: kernels) != nil
  }

  /// The function name of a one-kernel program's kernel.
  static let entryFunction = OpenCLCodegen.identifier(Kernel.unnamedName)

  /// The cache key of `source` on this device, driver and build options.
  private func key(of source: String) -> String {
    StableHash.hex(source + "\u{0}" + deviceKey + "\u{0}" + Self.buildOptions)
  }

  /// The body keyed `key` from disk: its own binary `<key>.bin`, or the shared binary and
  /// function its `<key>.ref` names. `nil` when neither is there or the driver rejects it.
  private func loadEntry(key: String, directory: String) -> OpenCLEntry? {
    if let binary = FileManager.default.contents(atPath: "\(directory)/\(key).bin") {
      return (try? load([UInt8](binary))).map { OpenCLEntry(program: $0, function: Self.entryFunction) }
    }
    guard let data = FileManager.default.contents(atPath: "\(directory)/\(key).ref") else { return nil }
    let fields = String(decoding: data, as: UTF8.self).split(separator: " ").map(String.init)
    guard fields.count == 2, let program = loadShared(key: fields[0], directory: directory) else { return nil }
    return OpenCLEntry(program: program, function: fields[1])
  }

  /// The shared program `<key>.bin`, loaded once per cache.
  private func loadShared(key: String, directory: String) -> OpenCLHandle? {
    sharedLoads.withLock { loaded in
      if let program = loaded[key] { return program }
      guard let binary = FileManager.default.contents(atPath: "\(directory)/\(key).bin"),
        let program = try? load([UInt8](binary))
      else { return nil }
      loaded[key] = program
      return program
    }
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
