import TesseraIR

// Small compositions that several op handlers share.
extension ImportContext {
  /// `x` reshaped to `dims` (no op when it already has them).
  func reshape(_ x: ValueID, _ dims: [Int]) throws(ONNXError) -> ValueID {
    type(x).shape.dims == dims ? x : try emit(.reshape, [x], ["shape": .ints(dims)])
  }

  /// `x` converted to `dtype` (no op when it already is).
  func cast(_ x: ValueID, _ dtype: DType) throws(ONNXError) -> ValueID {
    type(x).dtype == dtype ? x : try emit(.cast, [x], ["to": .symbol(dtype.rawValue)])
  }

  /// `axis` (possibly negative, numpy style) as an index into `0..<rank`.
  func axis(_ axis: Int, rank: Int, _ what: String = "axis") throws(ONNXError) -> Int {
    let resolved = axis < 0 ? axis + rank : axis
    guard (0..<rank).contains(resolved) else { throw failure("\(what) \(axis) is out of range for rank \(rank)") }
    return resolved
  }

  /// Every axis in `axes`, resolved, without duplicates.
  func axes(_ axes: [Int], rank: Int) throws(ONNXError) -> [Int] {
    var resolved: [Int] = []
    for value in axes { resolved.append(try axis(value, rank: rank, "axes entry")) }
    guard Set(resolved).count == resolved.count else { throw failure("axes \(axes) repeat an axis") }
    return resolved
  }

  /// `a / b` as ONNX defines it: for integers, the quotient truncated toward zero (Tessera's
  /// integer `div` floors, as numpy's `//`), found by correcting the floored quotient by one
  /// where the remainder is non-zero and the signs differ.
  func onnxDivide(_ a: ValueID, _ b: ValueID) throws(ONNXError) -> ValueID {
    let floored = try emit(.div, [a, b])
    let dtype = type(a).dtype
    guard dtype.isInteger, dtype != .u8 else { return floored }
    let zero = scalar(0, dtype)
    let remainder = try emit(.sub, [a, try emit(.mul, [floored, b])])
    let inexact = try emit(.compare, [remainder, zero], ["kind": .symbol("ne")])
    let signsDiffer = try emit(
      .compare,
      [
        try emit(.compare, [a, zero], ["kind": .symbol("lt")]), try emit(.compare, [b, zero], ["kind": .symbol("lt")]),
      ],
      ["kind": .symbol("ne")])
    let correct = try emit(.select, [inexact, signsDiffer, constant(Tensor([0], shape: [], dtype: .bool))])
    return try emit(.add, [floored, try emit(.select, [correct, scalar(1, dtype), zero])])
  }
}
