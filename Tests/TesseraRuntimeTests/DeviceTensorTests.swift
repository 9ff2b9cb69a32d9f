import Tessera
import TesseraTestSupport
import Testing

/// Device tensors, parameters bound once and state updated in place, on every usable device
/// (devices without a driver are not listed: their providers report them unavailable).
@Suite("Device tensors, bound parameters and update_slice on every device")
struct DeviceTensorTests {
  private static let registry = DeviceRegistry.standard()
  private static let deviceNames = registry.availableDevices.map(\.info.name)

  /// `y = x · w + b`, with the cache row at `%p` replaced by `y`'s row (the cache updated in place).
  private static let stepText = """
    func @step(%x: f32[1,8], %w: f32[8,6], %cache: f32[5,6], %p: i32[1]) -> (f32[1,6], f32[5,6]) {
      %y = matmul %x, %w : f32[1,6]
      %c = update_slice %cache, %y, %p {axis = 0} : f32[5,6]
      %s = reduce_sum %c {axes = [0], keepdims = true} : f32[1,6]
      return %s, %c
    }
    """

  @Test("a tensor uploaded, read back and overwritten keeps its bytes", arguments: deviceNames)
  func roundTrip(device name: String) throws {
    let device = try Self.registry.device(named: name)
    var generator = SeededRandom(seed: 3)
    for type in [TensorType(.f32, [3, 5]), TensorType(.i32, [7]), TensorType(.q4_0, [2, 32]), TensorType(.f16, [4])] {
      let tensor = Tensor.random(type, integerBound: 9, using: &generator)
      let onDevice = try device.upload(tensor)
      #expect(onDevice.type == type && onDevice.deviceName == name)
      #expect(try onDevice.read() == tensor, "\(name) \(type)")
      let other = Tensor.random(type, integerBound: 9, using: &generator)
      try onDevice.write(other)
      #expect(try onDevice.read() == other, "\(name) \(type) after a write")
    }
    let zeros = try device.allocate(TensorType(.f32, [4, 4]))
    #expect(try zeros.read() == Tensor(repeating: 0, shape: [4, 4]))
  }

  @Test("bound weights are not moved again; the state is updated in place", arguments: deviceNames)
  func boundParametersAndState(device name: String) throws {
    let device = try Self.registry.device(named: name)
    let graph = try TestSupport.parseOne(Self.stepText)
    #expect(graph.inPlaceUpdates == [1: 2], "the cache result updates argument 2 in place")
    var generator = SeededRandom(seed: 11)
    let w = Tensor.random(TensorType(.f32, [8, 6]), using: &generator)
    let parameters = try ParameterSet(uploading: [("w", w)], to: device)
    let compiled = try device.compile(graph, parameters: parameters)
    #expect(compiled.inputArguments.map { graph[$0].name } == ["x", "cache", "p"])
    let cache = try device.allocate(TensorType(.f32, [5, 6]), name: "%cache")
    var expectedCache = Tensor(repeating: 0, shape: [5, 6])
    let tolerance = name == "npu" ? 2e-2 : 1e-4  // the NPU multiplies fp16 operands
    for position in [0, 3, 1] {
      let x = Tensor.random(TensorType(.f32, [1, 8]), using: &generator)
      let p = Tensor([Double(position)], shape: [1], dtype: .i32)
      let expected = try TestSupport.evaluate(graph, [x, w, expectedCache, p])
      expectedCache = expected[1]
      let run = try compiled.execute([.host(x), .device(cache), .host(p)])
      guard case .device(let returned) = run.results[1] else {
        Issue.record("\(name): the updated cache came back as a host tensor")
        return
      }
      #expect(returned === cache, "\(name): the result is the cache tensor itself")
      let sum = try run.results[0].hostTensor()
      #expect(
        TestSupport.toleranceRatio(sum, expected[0], atol: tolerance, rtol: tolerance) <= 1,
        "\(name) sum at \(position)")
      #expect(
        TestSupport.toleranceRatio(try cache.read(), expectedCache, atol: tolerance, rtol: tolerance) <= 1,
        "\(name) cache")
      let hostOnly = name == "reference" || name == "kir" || name == "npu"
      if !hostOnly {
        #expect(
          run.traffic.toDevice == 32 + 4 || run.traffic.toDevice == 4 || run.traffic.toDevice == 0,
          "\(name): only x and p cross to the device, not w (\(run.traffic.toDevice) bytes)")
        #expect(run.traffic.toHost == 24, "\(name): only the sum comes back (\(run.traffic.toHost) bytes)")
      }
    }
  }

  @Test("an out-of-range start is an error and writes nothing", arguments: deviceNames)
  func outOfRange(device name: String) throws {
    let device = try Self.registry.device(named: name)
    let graph = try TestSupport.parseOne(Self.stepText)
    let compiled = try device.compile(graph)
    var generator = SeededRandom(seed: 12)
    let x = Tensor.random(TensorType(.f32, [1, 8]), using: &generator)
    let w = Tensor.random(TensorType(.f32, [8, 6]), using: &generator)
    let start = Tensor.random(TensorType(.f32, [5, 6]), using: &generator)
    let cache = try device.upload(start)
    for position in [-1, 5, 9] {
      let p = Tensor([Double(position)], shape: [1], dtype: .i32)
      #expect(throws: DeviceError.self, "\(name) at \(position)") {
        try compiled.execute([.host(x), .host(w), .device(cache), .host(p)])
      }
      #expect(try cache.read() == start, "\(name): nothing written at \(position)")
    }
    #expect(throws: DeviceError.self) {
      try ReferenceDevice().compile(graph).run(inputs: [x, w, start, Tensor([5], shape: [1], dtype: .i32)])
    }
  }

  @Test("an out-of-place update (its base read again) matches the reference", arguments: deviceNames)
  func outOfPlace(device name: String) throws {
    let device = try Self.registry.device(named: name)
    let text = """
      func @f(%base: f32[4,3,5], %u: f32[4,2,5], %p: i32[]) -> (f32[4,3,5], f32[4,3,5]) {
        %r = update_slice %base, %u, %p {axis = 1} : f32[4,3,5]
        %d = sub %r, %base : f32[4,3,5]
        return %r, %d
      }
      """
    let graph = try TestSupport.parseOne(text)
    #expect(graph.inPlaceUpdates.isEmpty, "the base is read again: no update in place")
    var generator = SeededRandom(seed: 13)
    let base = Tensor.random(TensorType(.f32, [4, 3, 5]), using: &generator)
    let u = Tensor.random(TensorType(.f32, [4, 2, 5]), using: &generator)
    for position in [0, 1] {
      let p = Tensor([Double(position)], shape: [], dtype: .i32)
      let expected = try TestSupport.evaluate(graph, [base, u, p])
      let actual = try device.compile(graph).run(inputs: [base, u, p])
      for (a, e) in zip(actual, expected) {
        #expect(TestSupport.toleranceRatio(a, e, atol: 1e-6, rtol: 1e-6) <= 1, "\(name) at \(position)")
      }
    }
  }

  @Test("a tensor of another device is refused, naming both")
  func wrongDevice() throws {
    let graph = try TestSupport.parseOne(Self.stepText)
    let compiled = try CPUDevice().compile(graph)
    let foreign = try ReferenceDevice().allocate(TensorType(.f32, [5, 6]))
    let x = Tensor(repeating: 1, shape: [1, 8]), w = Tensor(repeating: 1, shape: [8, 6])
    let p = Tensor([0], shape: [1], dtype: .i32)
    #expect(throws: DeviceError.wrongDevice(name: "cache", expected: "cpu", found: "reference")) {
      try compiled.execute([.host(x), .host(w), .device(foreign), .host(p)])
    }
  }
}
