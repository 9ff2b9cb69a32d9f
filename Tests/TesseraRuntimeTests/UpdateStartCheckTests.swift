import Tessera
import TesseraTestSupport
import Testing

/// A compiled graph checks the start of every `update_slice` given on the host before anything
/// runs, on every usable device: out of range is an error naming the update; in range, the rows
/// land where the start says.
@Suite("update_slice starts checked by every compiled graph")
struct UpdateStartCheckTests {
  private static let registry = DeviceRegistry.standard()
  private static let deviceNames = registry.availableDevices.map(\.info.name)

  /// Two rows written into six along axis 0.
  private static let text = """
    func @put(%c: f32[6,2], %u: f32[2,2], %p: i32[1]) -> f32[6,2] {
      %r = update_slice %c, %u, %p {axis = 0} : f32[6,2]
      return %r
    }
    """

  @Test("a start out of range is refused, one in range writes its rows", arguments: deviceNames)
  func starts(device name: String) throws {
    let compiled = try Self.registry.device(named: name).compile(try TestSupport.parseOne(Self.text))
    let base = Tensor(repeating: 0, shape: [6, 2])
    let update = Tensor([1, 2, 3, 4], shape: [2, 2], dtype: .f32)
    for start in [5, -1, 6] {
      #expect(throws: DeviceError.self, "\(name): start \(start)") {
        try compiled.run(inputs: [base, update, Tensor([Double(start)], shape: [1], dtype: .i32)])
      }
    }
    #expect(
      throws: DeviceError.execution(
        op: .updateSlice, value: "r", message: "start 5 puts 2 rows outside 0..<6 along axis 0")
    ) { try compiled.run(inputs: [base, update, Tensor([5], shape: [1], dtype: .i32)]) }
    // Rows 4 and 5 (the last start that fits), worked out by hand.
    let result = try compiled.run(inputs: [base, update, Tensor([4], shape: [1], dtype: .i32)])[0]
    #expect(result == Tensor([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4], shape: [6, 2], dtype: .f32), "\(name)")
  }
}
