import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// The `cpu` device's count of its allocations (``TensorStore/allocatedBytes``): allocations,
/// written copies of borrowed tensors and repacked tiles, each up by exactly its bytes and back
/// down when freed; borrowed host bytes are not counted.
@Suite("Allocation counts of the cpu device")
struct CPUAllocationCountTests {
  @Test("an allocation is counted until it is freed")
  func allocationIsCounted() throws {
    let device = CPUDevice(pool: CPUThreadPool(threads: 1))
    var tensor: DeviceTensor? = try device.allocate(TensorType(.f32, [10, 25]))
    #expect(device.store.allocatedBytes == 1000 && tensor?.memory.allocatedBytes == 1000)
    tensor = nil
    #expect(device.store.allocatedBytes == 0)
  }

  @Test("an upload is read in place (not counted) until a write copies it into the device's memory")
  func borrowedUntilWritten() throws {
    let device = CPUDevice(pool: CPUThreadPool(threads: 1))
    var tensor: DeviceTensor? = try device.upload(Tensor(repeating: 2, shape: [4, 4]))
    #expect(device.store.allocatedBytes == 0 && tensor?.memory.allocatedBytes == 0)
    try tensor?.write(Tensor(repeating: 3, shape: [4, 4]))
    #expect(device.store.allocatedBytes == 64 && tensor?.memory.allocatedBytes == 64)
    tensor = nil
    #expect(device.store.allocatedBytes == 0)
  }

  @Test("a bound quantized weight counts its tiles once they are made, and nothing once freed")
  func tilesAreCounted() throws {
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: 1))
    var generator = SeededRandom(seed: 5)
    let weight = Tensor.random(TensorType(.q4_1, [10, 64]), using: &generator)
    var parameters: ParameterSet? = try ParameterSet(uploading: [("w", weight)], to: device)
    #expect(device.store.allocatedBytes == 0 && parameters?.readInPlaceBytes == weight.bytes.count)
    let graph = try TestSupport.parseOne(QuantizedTileTests.viewGraph.replacingOccurrences(of: "R", with: "1"))
    var compiled: CompiledGraph? = try device.compile(graph, parameters: parameters!)
    _ = try compiled?.run(inputs: [Tensor.random(graph.argumentTypes[0], using: &generator)])
    let tiles =
      QuantizedTiles.supports(.q4_1, precision: .f32Activations)
      ? QuantizedTiles.byteCount(n: 10, k: 64, dtype: .q4_1) : 0
    #expect(parameters?.allocatedBytes == tiles)
    #expect(device.store.allocatedBytes >= tiles, "the tiles and the graph's arena")
    compiled = nil
    #expect(device.store.allocatedBytes == tiles, "the arena went with the graph")
    parameters = nil
    #expect(device.store.allocatedBytes == 0)
  }

  @Test("the arena leaves out a dequantized weight that the matmuls read at its source", arguments: [1, 3])
  func arenaHoldsNoDequantizedWeight(rows: Int) throws {
    let device = CPUDevice(library: StandardKernelLibrary(), pool: CPUThreadPool(threads: 2))
    var generator = SeededRandom(seed: 9)
    let weight = Tensor.random(TensorType(.q4_1, [10, 64]), using: &generator)
    let parameters = try ParameterSet(uploading: [("w", weight)], to: device)
    let graph = try TestSupport.parseOne(QuantizedTileTests.viewGraph.replacingOccurrences(of: "R", with: "\(rows)"))
    let x = Tensor.random(graph.argumentTypes[0], using: &generator)
    let before = device.store.allocatedBytes
    let compiled = try device.compile(graph, parameters: parameters)
    let result = try compiled.run(inputs: [x])
    let expected = try TestSupport.evaluate(graph, [x, weight])
    #expect(TestSupport.toleranceRatio(result[0], expected[0], atol: 1e-4, rtol: 1e-4) <= 1)
    // The plan's arena holds the dequantized f32[10,64] and the result; the run's holds the result only.
    let dequantized = 10 * 64 * 4
    let arena = device.store.allocatedBytes - before - parameters.allocatedBytes
    #expect(arena < dequantized, "arena \(arena) bytes")
    #expect(arena >= rows * 10 * 4)
    withExtendedLifetime(compiled) {}
  }
}
