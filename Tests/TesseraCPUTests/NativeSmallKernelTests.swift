import TesseraCPU
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// The native `update_slice` and `argmax` routes of the `cpu` device against the reference.
@Suite struct NativeSmallKernelTests {
  @Test("argmax runs natively: first maximum, first NaN, any axis", arguments: [0, 1, 2])
  func argmax(axis: Int) throws {
    let text = """
      func @f(%x: f32[3,4,5]) -> i32[\(axis == 0 ? "4,5" : axis == 1 ? "3,5" : "3,4")] {
        %y = argmax %x {axis = \(axis)} : i32[\(axis == 0 ? "4,5" : axis == 1 ? "3,5" : "3,4")]
        return %y
      }
      """
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(library: StandardKernelLibrary())
    #expect(try device.routes(for: graph).contains { if case .argmax = $0 { true } else { false } })
    var values = (0..<60).map { Double(($0 * 7) % 5) }  // many ties
    values[13] = .nan
    values[41] = .nan
    let x = Tensor(values, shape: [3, 4, 5])
    #expect(try device.compile(graph).run(inputs: [x]) == TestSupport.evaluate(graph, [x]))
  }

  @Test("update_slice runs natively, in place and not, and writes nothing out of range")
  func updateSlice() throws {
    let text = """
      func @f(%c: f32[2,6,3], %u: f32[2,2,3], %p: i64[]) -> (f32[2,6,3], f32[2,6,3]) {
        %r = update_slice %c, %u, %p {axis = 1} : f32[2,6,3]
        %d = add %r, %c : f32[2,6,3]
        return %r, %d
      }
      """
    let graph = try TestSupport.parseOne(text)
    let device = CPUDevice(library: StandardKernelLibrary())
    #expect(try device.routes(for: graph).contains { if case .sliceUpdate = $0 { true } else { false } })
    var generator = SeededRandom(seed: 21)
    let c = Tensor.random(TensorType(.f32, [2, 6, 3]), using: &generator)
    let u = Tensor.random(TensorType(.f32, [2, 2, 3]), using: &generator)
    for start in [0, 3, 4] {
      let p = Tensor([Double(start)], shape: [], dtype: .i64)
      #expect(try device.compile(graph).run(inputs: [c, u, p]) == TestSupport.evaluate(graph, [c, u, p]))
    }
    let inPlace = try TestSupport.parseOne(
      """
      func @g(%c: f32[6,3], %u: f32[1,3], %p: i32[1]) -> f32[6,3] {
        %r = update_slice %c, %u, %p : f32[6,3]
        return %r
      }
      """)
    let cache = try device.upload(Tensor.random(TensorType(.f32, [6, 3]), using: &generator))
    let before = try cache.read()
    let row = Tensor.random(TensorType(.f32, [1, 3]), using: &generator)
    let compiled = try device.compile(inPlace)
    _ = try compiled.run([.device(cache), .host(row), .host(Tensor([5], shape: [1], dtype: .i32))])
    #expect(try cache.read() == TestSupport.evaluate(inPlace, [before, row, Tensor([5], shape: [1], dtype: .i32)])[0])
    let written = try cache.read()
    #expect(throws: DeviceError.self) {
      try compiled.run([.device(cache), .host(row), .host(Tensor([6], shape: [1], dtype: .i32))])
    }
    #expect(try cache.read() == written, "nothing written for a start out of range")
  }
}
