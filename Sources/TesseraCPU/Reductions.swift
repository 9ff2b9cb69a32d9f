import TesseraIR

/// Reference reductions: sums and means accumulate in Double (Int64 for integers), max/min
/// propagate NaN as numpy does, argmax returns the first maximal index (the first NaN if any).
enum Reductions {
  static func reduce(_ kind: OpKind, _ a: RefArray, _ attributes: Attributes, _ type: TensorType) -> RefArray {
    let rank = a.shape.rank
    let axes: [Int] =
      if kind == .argmax { [a.shape.normalizedAxis(attributes.int("axis")!)!] } else {
        attributes.ints("axes")?.map { a.shape.normalizedAxis($0)! } ?? Array(0..<rank)
      }
    let groups = groupIndices(a.shape, axes: axes)
    if kind == .argmax {
      let values = a.floats
      let out = groups.map { Int64(argmax($0.map { values[$0] })) }
      return RefArray(ints: out, dtype: .i32, shape: type.shape)
    }
    if a.dtype.isFloatingPoint {
      let values = a.floats
      let out = groups.map { group in Float(reduceFloats(kind, group.map { Double(values[$0]) })) }
      return RefArray(floats: out, dtype: a.dtype, shape: type.shape)
    }
    let values = a.ints
    let out = groups.map { group in reduceInts(kind, group.map { values[$0] }) }
    return RefArray(ints: out, dtype: a.dtype, shape: type.shape)
  }

  /// For every output element (C order over the kept axes), the flat indices it reduces over.
  static func groupIndices(_ shape: Shape, axes: [Int]) -> [[Int]] {
    let strides = shape.strides
    let kept = (0..<shape.rank).filter { !axes.contains($0) }
    let outer = Indexing.stridedMap(
      shape: Shape(kept.map { shape.dims[$0] }), strides: kept.map { strides[$0] }, base: 0)
    let inner = Indexing.stridedMap(
      shape: Shape(axes.map { shape.dims[$0] }), strides: axes.map { strides[$0] }, base: 0)
    return outer.map { base in inner.map { base + $0 } }
  }

  static func reduceFloats(_ kind: OpKind, _ values: [Double]) -> Double {
    switch kind {
    case .reduceSum: return values.reduce(0, +)
    case .reduceMean: return values.reduce(0, +) / Double(values.count)
    case .reduceMax, .reduceMin:
      if values.contains(where: \.isNaN) { return .nan }
      let extreme = kind == .reduceMax ? values.max() : values.min()
      return extreme ?? (kind == .reduceMax ? -.infinity : .infinity)
    default: preconditionFailure("not a float reduction: \(kind)")
    }
  }

  static func reduceInts(_ kind: OpKind, _ values: [Int64]) -> Int64 {
    switch kind {
    case .reduceSum: values.reduce(0, &+)
    case .reduceMax: values.max() ?? .min
    case .reduceMin: values.min() ?? .max
    default: preconditionFailure("not an integer reduction: \(kind)")
    }
  }

  /// Index of the first maximum; the first NaN wins, as in numpy.
  static func argmax(_ values: [Float]) -> Int {
    if let firstNaN = values.firstIndex(where: \.isNaN) { return firstNaN }
    var best = 0
    for (index, value) in values.enumerated() where value > values[best] { best = index }
    return best
  }
}
