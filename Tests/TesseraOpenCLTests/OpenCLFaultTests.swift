import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraOpenCL

/// Injected faults on OpenCL take the driver's error paths: each error names the device and the
/// kernel (or buffer), and every OpenCL object made before the failure is released.
@Suite(
  "Fault injection on OpenCL: errors name the device and kernel, nothing leaks",
  .enabled(if: OpenCLTestDevice.available, OpenCLTestDevice.reason))
struct OpenCLFaultTests {
  private let graph = FaultTesting.graph

  /// A device of its own loader (so its count of live handles is its own), programs cached in
  /// memory only, injecting `spec`.
  private func device(_ spec: String) throws -> OpenCLDevice {
    let options = CompileOptions(passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()))
    let provider = OpenCLProvider(
      options: options, hostRunner: InterpreterKernelRunner(), faults: try FaultInjection(parsing: spec))
    let found = try #require(provider.discover().lazy.compactMap { $0.device as? OpenCLDevice }.first)
    return try found.configured(cacheDirectory: .some(nil))
  }

  /// The kernels the device runs for the graph, in launch order.
  private func kernels(_ device: OpenCLDevice) throws -> [String] {
    try device.plan(graph).steps.filter { $0.device == device.capabilities.name }.compactMap { $0.call?.kernel.name }
  }

  /// Handles alive beyond the programs the cache keeps: what a compile and run left behind.
  private func leftOver(_ device: OpenCLDevice, since before: Int) -> Int {
    device.liveHandles - before - device.cacheStatistics.driverBuilds
  }

  /// What compiling the graph and running it once throws; `nil` when both succeed.
  private func failure(_ device: OpenCLDevice) -> DeviceError? {
    do throws(DeviceError) {
      _ = try device.compile(graph).run(inputs: FaultTesting.inputs)
      return nil
    } catch {
      return error
    }
  }

  @Test("a fault of each kind", arguments: FaultKind.allCases)
  func eachKind(kind: FaultKind) throws {
    let device = try device("\(kind.rawValue):opencl")
    let name = device.info.name
    let kernels = try kernels(device)
    let before = device.liveHandles
    let error = try #require(failure(device), "the \(kind) fault fails the compile or the run")
    switch (kind, error) {
    case (.alloc, .allocationFailed(name, "the arena", _, let message)):
      #expect(message == "clCreateBuffer failed with CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)")
    case (.build, .compileFailed(name, let message)):
      #expect(message.contains("could not build the program for @faulty"))
      #expect(message.contains("injected fault build:opencl hit \(kernels[0])"), "the driver's build log")
    case (.timeout, .timeout(name, let submitted, let reason)):
      #expect(submitted == kernels)
      #expect(reason == "injected fault timeout:opencl hit \(kernels[0])")
    default:
      Issue.record("unexpected error for a \(kind) fault: \(error)")
    }
    #expect(leftOver(device, since: before) == 0, "every buffer, kernel and event is released")
  }

  @Test func filtersPickOneKernelOrBuffer() throws {
    let kernels = try kernels(device("build:opencl"))
    #expect(kernels.count >= 3, "\(kernels)")
    let last = kernels.last!
    let build = try device("build:opencl:kernel=\(last)")
    let before = build.liveHandles
    guard case .compileFailed(_, let message)? = failure(build) else {
      Issue.record("a build fault for \(last) did not fail the compile")
      return
    }
    #expect(message.contains("injected fault build:opencl:kernel=\(last) hit \(last)"))
    #expect(leftOver(build, since: before) == 0)

    for (buffer, bytes) in [("w", 192), ("b", 24)] {
      let alloc = try device("alloc:opencl:0:buffer=\(buffer)")
      let start = alloc.liveHandles
      let expected = DeviceError.allocationFailed(
        device: alloc.info.name, buffer: "%" + buffer, bytes: bytes,
        message: "clCreateBuffer failed with CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)")
      #expect(failure(alloc) == expected)
      #expect(leftOver(alloc, since: start) == 0, "the arena and the buffers made before %\(buffer) are released")
    }
  }

  @Test func aFaultForAnotherKernelBufferOrDeviceChangesNothing() throws {
    let device = try device("build:opencl:kernel=k99_none,timeout:opencl:7,alloc:opencl:buffer=nothing")
    let results = try device.compile(graph).run(inputs: FaultTesting.inputs)
    #expect(try FaultTesting.matchReference(results))
  }
}
