import Foundation
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraOpenCL

/// Kernels equal up to their names share one program: a model's repeated layers cost one build
/// per distinct kernel, in memory and through the disk cache, and still compute the reference's
/// results.
@Suite(
  "OpenCL builds one program per distinct kernel",
  .enabled(if: OpenCLTestDevice.available, OpenCLTestDevice.reason))
struct OpenCLKernelSharingTests {
  /// The shared device with its own memory cache and the disk cache folder `directory`.
  private func device(directory: String?) throws -> OpenCLDevice {
    try #require(OpenCLTestDevice.device).configured(cacheDirectory: .some(directory))
  }

  /// The kernels `device` runs for `graph`.
  private func kernels(_ graph: Graph, on device: OpenCLDevice) throws -> [Kernel] {
    try device.plan(graph).steps.filter { $0.device == device.capabilities.name }.compactMap { $0.call?.kernel }
  }

  @Test func moreLayersOfTheSameKernelsBuildNothingMore() throws {
    var builds: [Int: Int] = [:]
    for layers in [3, 6] {
      let device = try device(directory: nil)
      let graph = try RepeatedLayers.graph(layers: layers)
      let inputs = RepeatedLayers.inputs(graph)
      #expect(try RepeatedLayers.matchReference(graph, inputs, device.compile(graph).run(inputs: inputs)))
      builds[layers] = device.cacheStatistics.sourceBuilds
    }
    let one = try kernels(RepeatedLayers.graph(layers: 1), on: device(directory: nil))
    try #require(one.count > 1 && Set(one.map(\.unnamed)).count == one.count, "one layer's kernels all differ")
    let three = try kernels(RepeatedLayers.graph(layers: 3), on: device(directory: nil)).count
    let six = try kernels(RepeatedLayers.graph(layers: 6), on: device(directory: nil)).count
    #expect(six > three && three > one.count, "more layers launch more kernels")
    #expect(builds == [3: one.count, 6: one.count], "but build one program per kernel of a single layer")
  }

  @Test func kernelsThatDifferOnlyInNameShareAProgramAndOthersDoNot() throws {
    let device = try device(directory: nil)
    let kernels = try kernels(RepeatedLayers.graph(layers: 1), on: device)
    let first = try #require(kernels.first), other = try #require(kernels.last)
    try #require(first.unnamed != other.unnamed, "the graph has two different kernels")
    var renamed = first
    renamed.name = "another_name"
    renamed.comment = "another comment"
    let programs = try device.programs(for: [first, renamed, other], owner: nil)
    #expect(programs.count == 2)
    #expect(device.cacheStatistics == OpenCLCacheStatistics(sourceBuilds: 2, driverBuilds: 1), "one shared program")
    _ = try device.makeKernel(renamed, in: programs)
    _ = try device.makeKernel(other, in: programs)
  }

  @Test func theDiskCacheServesOtherGraphsWithTheSameKernels() throws {
    let directory = TestSupport.temporaryDirectory("opencl-sharing")
    let first = try device(directory: directory)
    _ = try first.compile(RepeatedLayers.graph(layers: 2))
    let built = first.cacheStatistics.sourceBuilds
    #expect(first.cacheStatistics.driverBuilds == 1, "the missing kernel bodies build as one program")
    let files = try FileManager.default.contentsOfDirectory(atPath: directory)
    #expect(files.filter { $0.hasSuffix(".bin") }.count == 1 && files.filter { $0.hasSuffix(".ref") }.count == built)
    let second = try device(directory: directory)
    let graph = try RepeatedLayers.graph(layers: 5)
    let inputs = RepeatedLayers.inputs(graph)
    #expect(try RepeatedLayers.matchReference(graph, inputs, second.compile(graph).run(inputs: inputs)))
    #expect(second.cacheStatistics == OpenCLCacheStatistics(sourceBuilds: 0, diskLoads: built, memoryHits: 0))
  }

  @Test func aBuildErrorNamesTheKernelAndTheOthersAlikeWithIt() throws {
    let graph = try RepeatedLayers.graph(layers: 3)
    let kernels = try kernels(graph, on: device(directory: nil))
    let alike = kernels.filter { $0.unnamed == kernels[0].unnamed }.count
    try #require(alike > 1, "the first kernel repeats in every layer")
    let faulty = try device(directory: nil).configured(faults: FaultInjection(parsing: "build:opencl"))
    do {
      _ = try faulty.compile(graph)
      Issue.record("an injected build fault did not fail the compile")
    } catch {
      guard case .compileFailed(_, let message) = error else { throw error }
      #expect(
        message.contains("could not build the program for @layers3, kernel \(kernels[0].name) (and \(alike - 1) alike)")
      )
      #expect(message.contains("injected fault build:opencl hit \(kernels[0].name)"), "the driver's build log")
    }
  }
}
