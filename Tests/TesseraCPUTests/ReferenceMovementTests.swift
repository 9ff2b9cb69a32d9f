import TesseraIR
import TesseraTestSupport
import Testing

/// The reference's transposes and strided slices (walked in tiles of the last two axes) against
/// element positions computed here from the coordinates, on shapes with partial tiles.
@Suite("Reference movement ops on tiled shapes")
struct ReferenceMovementTests {
  /// The values 0, 1, 2, … in a tensor of `shape`, so each element names its own flat index.
  static func counting(_ shape: [Int]) -> Tensor {
    Tensor((0..<shape.reduce(1, *)).map(Double.init), shape: Shape(shape))
  }

  /// `3,40,70`.
  static func dims(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: ",") }

  /// The C-order coordinates of flat index `index` in `shape`.
  static func coordinates(_ index: Int, in shape: [Int]) -> [Int] {
    var rest = index
    return shape.indices.reversed().map { axis in
      defer { rest /= shape[axis] }
      return rest % shape[axis]
    }.reversed()
  }

  /// The flat index of `coordinates` in `shape`.
  static func flat(_ coordinates: [Int], in shape: [Int]) -> Int {
    zip(coordinates, shape).reduce(0) { $0 * $1.1 + $1.0 }
  }

  @Test(
    "transpose", arguments: [([3, 40, 70], [2, 0, 1]), ([70, 33], [1, 0]), ([2, 3, 45, 37], [0, 3, 1, 2])])
  func transpose(shape: [Int], perm: [Int]) throws {
    let output = perm.map { shape[$0] }
    let text = """
      func @f(%x: f32[\(Self.dims(shape))]) -> f32[\(Self.dims(output))] {
        %y = transpose %x {perm = \(perm)} : f32[\(Self.dims(output))]
        return %y
      }
      """
    let result = try TestSupport.evaluate(try TestSupport.parseOne(text), [Self.counting(shape)])[0]
    for index in 0..<output.reduce(1, *) {
      let at = Self.coordinates(index, in: output)
      var source = [Int](repeating: 0, count: shape.count)
      for (axis, from) in perm.enumerated() { source[from] = at[axis] }
      #expect(result.element(at: index) == Double(Self.flat(source, in: shape)))
    }
  }

  @Test func stridedSlice() throws {
    let shape = [5, 90, 66], start = [1, 3, 2], end = [4, 90, 66], step = [2, 2, 3], output = [2, 44, 22]
    let text = """
      func @f(%x: f32[\(Self.dims(shape))]) -> f32[\(Self.dims(output))] {
        %y = slice %x {start = \(start), end = \(end), step = \(step)} : f32[\(Self.dims(output))]
        return %y
      }
      """
    let result = try TestSupport.evaluate(try TestSupport.parseOne(text), [Self.counting(shape)])[0]
    for index in 0..<output.reduce(1, *) {
      let at = Self.coordinates(index, in: output)
      let source = at.indices.map { start[$0] + at[$0] * step[$0] }
      #expect(result.element(at: index) == Double(Self.flat(source, in: shape)))
    }
  }
}
