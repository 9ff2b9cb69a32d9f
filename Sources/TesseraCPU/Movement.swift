import TesseraIR

/// Reference movement ops: each computes, for every output element, which input element it is.
enum Movement {
  static func apply(_ kind: OpKind, _ operands: [RefArray], _ attributes: Attributes, _ type: TensorType)
    throws(EvaluationFailure) -> RefArray
  {
    let a = operands[0]
    switch kind {
    case .reshape:
      return a.relabeled(type.shape)
    case .broadcast:
      return a.gathered(Indexing.broadcastMap(from: a.shape, to: type.shape), shape: type.shape)
    case .transpose:
      let perm = attributes.ints("perm") ?? Array((0..<a.shape.rank).reversed())
      let strides = a.shape.strides
      return a.gathered(
        Indexing.stridedMap(shape: type.shape, strides: perm.map { strides[$0] }, base: 0), shape: type.shape)
    case .slice:
      let start = attributes.ints("start")!
      let step = attributes.ints("step") ?? [Int](repeating: 1, count: a.shape.rank)
      let strides = a.shape.strides
      let base = zip(start, strides).map(*).reduce(0, +)
      let map = Indexing.stridedMap(shape: type.shape, strides: zip(strides, step).map(*), base: base)
      return a.gathered(map, shape: type.shape)
    case .concat:
      return concat(operands, axis: a.shape.normalizedAxis(attributes.int("axis")!)!, type)
    default:
      return try gather(a, operands[1], axis: a.shape.normalizedAxis(attributes.int("axis") ?? 0)!, type)
    }
  }

  private static func concat(_ operands: [RefArray], axis: Int, _ type: TensorType) -> RefArray {
    let (outer, _, inner) = Indexing.around(type.shape, axis: axis)
    var floats: [Float] = [], ints: [Int64] = []
    for block in 0..<outer {
      for operand in operands {
        let chunk = operand.shape.dims[axis] * inner
        let range = (block * chunk)..<((block + 1) * chunk)
        switch operand.storage {
        case .float(let values): floats += values[range]
        case .int(let values): ints += values[range]
        case .blocks: preconditionFailure("concat of quantized tensors is rejected by the verifier")
        }
      }
    }
    return RefArray(type: type, storage: type.dtype.isFloatingPoint ? .float(floats) : .int(ints))
  }

  /// `np.take(a, indices, axis)`; negative indices count from the end, others out of range fail.
  private static func gather(_ a: RefArray, _ indices: RefArray, axis: Int, _ type: TensorType)
    throws(EvaluationFailure) -> RefArray
  {
    let (outer, size, inner) = Indexing.around(a.shape, axis: axis)
    var map: [Int] = []
    map.reserveCapacity(type.shape.count)
    let picks = indices.ints
    for block in 0..<outer {
      for index in picks {
        guard (-Int64(size))..<Int64(size) ~= index else {
          throw EvaluationFailure(message: "index \(index) is out of range for axis \(axis) of size \(size)")
        }
        let row = Int(index < 0 ? index + Int64(size) : index)
        let base = (block * size + row) * inner
        for offset in 0..<inner { map.append(base + offset) }
      }
    }
    return a.gathered(map, shape: type.shape)
  }
}
