import TesseraIR

/// `Slice` with ONNX's rules: negative starts and ends count from the end, out-of-range bounds
/// are clamped, and negative steps walk backwards (as a `gather` of the indices, since Tessera's
/// `slice` steps forward).
enum SliceOps {
  /// The handlers of this group, by ONNX op type.
  static let handlers: [String: OpHandler] = ["Slice": slice]

  private static func slice(_ c: ImportContext) throws(ONNXError) -> [ValueID] {
    let x = try c.input(0)
    let dims = c.type(x).shape.dims
    let starts: [Int]
    let ends: [Int]
    let axesGiven: [Int]?
    let stepsGiven: [Int]?
    if c.opset < 10 {
      starts = c.ints("starts") ?? []
      ends = c.ints("ends") ?? []
      axesGiven = c.ints("axes")
      stepsGiven = nil
    } else {
      starts = try c.constantInts(1, "starts") ?? []
      ends = try c.constantInts(2, "ends") ?? []
      axesGiven = try c.constantInts(3, "axes")
      stepsGiven = try c.constantInts(4, "steps")
    }
    let axes = try c.axes(axesGiven ?? Array(0..<starts.count), rank: dims.count)
    let steps = stepsGiven ?? [Int](repeating: 1, count: starts.count)
    guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
      throw c.failure("starts, ends, axes and steps have different lengths")
    }
    let zeros = [Int](repeating: 0, count: dims.count)
    let ones = [Int](repeating: 1, count: dims.count)
    var begin = zeros
    var end = dims
    var stride = ones
    var backwards: [(axis: Int, indices: [Int])] = []
    for (position, axis) in axes.enumerated() {
      let step = steps[position]
      guard step != 0 else { throw c.failure("step 0 on axis \(axis)") }
      let (first, last) = bounds(starts[position], ends[position], step: step, size: dims[axis])
      if step > 0 {
        begin[axis] = first
        end[axis] = Swift.max(last, first)
        stride[axis] = step
      } else {
        backwards.append((axis, Array(Swift.stride(from: first, to: last, by: step))))
      }
    }
    var result = x
    if begin != zeros || end != dims || stride != ones {
      var attributes: Attributes = ["start": .ints(begin), "end": .ints(end)]
      if stride != ones { attributes["step"] = .ints(stride) }
      result = try c.emit(.slice, [x], attributes)
    }
    for (axis, indices) in backwards {
      let table = c.constant(Tensor(indices.map(Double.init), shape: [indices.count], dtype: .i64))
      result = try c.emit(.gather, [result, table], ["axis": .int(axis)])
    }
    return [result]
  }

  /// The first index and the exclusive bound of a slice of an axis of `size`, clamped as ONNX
  /// says: `[0, size]` for a forward step, `[-1, size - 1]` for a backward one.
  private static func bounds(_ start: Int, _ end: Int, step: Int, size: Int) -> (Int, Int) {
    func resolve(_ index: Int) -> Int { index < 0 ? index &+ size : index }
    if step > 0 {
      return (Swift.min(Swift.max(resolve(start), 0), size), Swift.min(Swift.max(resolve(end), 0), size))
    }
    return (Swift.min(Swift.max(resolve(start), 0), size - 1), Swift.min(Swift.max(resolve(end), -1), size - 1))
  }
}
