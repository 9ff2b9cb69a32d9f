/// Typed access to an op's attributes with errors that name the attribute and what it expects.
struct AttributeReader {
  let attributes: Attributes

  func int(_ key: String, required: Bool = false) throws(InferenceFailure) -> Int? {
    guard let value = try lookup(key, required: required) else { return nil }
    guard case .int(let number) = value else { throw mismatch(key, "an integer", value) }
    return number
  }

  func float(_ key: String) throws(InferenceFailure) -> Double? {
    switch attributes[key] {
    case nil: return nil
    case .float(let number): return number
    case .int(let number): return Double(number)
    case let value?: throw mismatch(key, "a number", value)
    }
  }

  func bool(_ key: String) throws(InferenceFailure) -> Bool? {
    guard let value = attributes[key] else { return nil }
    guard case .bool(let flag) = value else { throw mismatch(key, "true or false", value) }
    return flag
  }

  func ints(_ key: String, required: Bool = false) throws(InferenceFailure) -> [Int]? {
    guard let value = try lookup(key, required: required) else { return nil }
    guard case .ints(let numbers) = value else { throw mismatch(key, "a list of integers", value) }
    return numbers
  }

  func symbol(_ key: String, required: Bool = false, allowed: [String]) throws(InferenceFailure) -> String? {
    guard let value = try lookup(key, required: required) else { return nil }
    guard case .symbol(let word) = value, allowed.contains(word) else {
      throw mismatch(key, "one of " + allowed.joined(separator: ", "), value)
    }
    return word
  }

  func dtype(_ key: String, required: Bool = false) throws(InferenceFailure) -> DType? {
    try symbol(key, required: required, allowed: DType.allCases.map(\.rawValue)).flatMap(DType.init(rawValue:))
  }

  /// A single axis, normalised into `0..<rank`.
  func axis(_ key: String, rank: Int, required: Bool = false) throws(InferenceFailure) -> Int? {
    guard let axis = try int(key, required: required) else { return nil }
    guard let resolved = Shape([Int](repeating: 1, count: rank)).normalizedAxis(axis) else {
      throw InferenceFailure("\(key) = \(axis) is out of range for rank \(rank)")
    }
    return resolved
  }

  /// A list of distinct axes, normalised into `0..<rank`.
  func axes(_ key: String, rank: Int) throws(InferenceFailure) -> [Int]? {
    guard let axes = try ints(key) else { return nil }
    let probe = Shape([Int](repeating: 1, count: rank))
    var resolved: [Int] = []
    for axis in axes {
      guard let normal = probe.normalizedAxis(axis) else {
        throw InferenceFailure("\(key) entry \(axis) is out of range for rank \(rank)")
      }
      guard !resolved.contains(normal) else { throw InferenceFailure("\(key) names axis \(normal) twice") }
      resolved.append(normal)
    }
    return resolved
  }

  private func lookup(_ key: String, required: Bool) throws(InferenceFailure) -> Attribute? {
    if let value = attributes[key] { return value }
    if required { throw InferenceFailure("missing attribute '\(key)'") }
    return nil
  }

  private func mismatch(_ key: String, _ expected: String, _ found: Attribute) -> InferenceFailure {
    InferenceFailure("attribute '\(key)' expects \(expected), found \(found)")
  }
}
