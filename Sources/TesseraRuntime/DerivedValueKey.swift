import TesseraIR

extension Graph {
  /// The key under which a ``DerivedValueCache`` keeps `value`: the expression that computes it,
  /// with each argument named by the identity of the device tensor bound to it (`tensors`, by
  /// argument position). Equal keys mean equal bytes from the same tensors, in this graph or
  /// another compiled for the same device. `argumentPositions` and `definingNode` are this
  /// graph's (`definingNode` as ``Graph/definingNode`` gives it).
  public func derivedValueKey(
    of value: ValueID, tensors: [Int: DeviceTensor], argumentPositions: [ValueID: Int], definingNode: [ValueID: Int]
  ) -> String {
    if let position = argumentPositions[value] {
      return "\(ObjectIdentifier(tensors[position]!))"
    }
    let node = nodes[definingNode[value]!]
    if let literal = node.literal { return "constant{\(literal.bytes)}:\(literal.type)" }
    let attributes = node.attributes.map { "\($0)=\($1)" }.joined(separator: ",")
    let operands = node.operands.map {
      derivedValueKey(of: $0, tensors: tensors, argumentPositions: argumentPositions, definingNode: definingNode)
    }
    return "\(node.kind){\(attributes)}(\(operands.joined(separator: ", "))):\(type(of: value))"
  }
}
