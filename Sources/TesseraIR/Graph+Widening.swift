extension Graph {
  /// The f16 or bf16 value that `node` widens, when `node` is a `cast` of one to f32 (how a
  /// model builder reads a 16-bit weight as f32); nil for any other node. Targets that read such
  /// weights in place recognise the pattern through this.
  public func widenedSixteenBitOperand(of node: Node) -> ValueID? {
    guard node.kind == .cast, type(of: node.result).dtype == .f32 else { return nil }
    let source = node.operands[0], dtype = type(of: source).dtype
    return dtype == .f16 || dtype == .bf16 ? source : nil
  }
}
