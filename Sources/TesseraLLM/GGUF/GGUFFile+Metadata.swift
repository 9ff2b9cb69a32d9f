extension GGUFFile {
  /// The value of `key`, or ``GGUFError/missingKey(_:)``.
  public func value(_ key: String) throws(GGUFError) -> GGUFValue {
    guard let value = metadata[key] else { throw .missingKey(key) }
    return value
  }

  /// An integer value of any integer type.
  public func integer(_ key: String) throws(GGUFError) -> Int {
    let value = try value(key)
    guard let integer = value.integer else {
      throw .wrongType(key: key, expected: "an integer", found: value.typeDescription)
    }
    return integer
  }

  /// `read(key)`, or `nil` when the file has no `key` (a present value of the wrong type is
  /// still an error): `try file.optional("tokenizer.ggml.add_bos_token", file.bool)`.
  public func optional<Value>(_ key: String, _ read: (String) throws(GGUFError) -> Value) throws(GGUFError) -> Value? {
    metadata[key] == nil ? nil : try read(key)
  }

  /// A floating-point value (f32 or f64; integers are accepted too).
  public func double(_ key: String) throws(GGUFError) -> Double {
    let value = try value(key)
    guard let number = value.double else {
      throw .wrongType(key: key, expected: "a number", found: value.typeDescription)
    }
    return number
  }

  /// A string value.
  public func string(_ key: String) throws(GGUFError) -> String {
    let value = try value(key)
    guard case .string(let text) = value else {
      throw .wrongType(key: key, expected: "string", found: value.typeDescription)
    }
    return text
  }

  /// A bool value.
  public func bool(_ key: String) throws(GGUFError) -> Bool {
    let value = try value(key)
    guard case .bool(let flag) = value else {
      throw .wrongType(key: key, expected: "bool", found: value.typeDescription)
    }
    return flag
  }

  /// The array of `key`, whose declared element type must be `elementType`: an array declared
  /// with another element type is rejected before any element is read as the wrong type.
  public func array(_ key: String, of elementType: GGUFValueType) throws(GGUFError) -> GGUFArray {
    let value = try value(key)
    guard case .array(let array) = value, array.elementType == elementType else {
      throw .wrongType(key: key, expected: "array of \(elementType)", found: value.typeDescription)
    }
    return array
  }

  /// An array of strings, as the file's metadata holds it (no copy).
  public func stringArray(_ key: String) throws(GGUFError) -> PackedStrings {
    try array(key, of: .string).strings!
  }

  /// An array of f32.
  public func floatArray(_ key: String) throws(GGUFError) -> [Float] {
    try array(key, of: .float32).map { if case .float32(let number) = $0 { number } else { 0 } }
  }

  /// An array of any single integer element type.
  public func integerArray(_ key: String) throws(GGUFError) -> [Int] {
    let value = try value(key)
    guard case .array(let array) = value, array.elementType != .array, array.elementType != .string,
      case let integers = array.compactMap(\.integer), integers.count == array.count
    else { throw .wrongType(key: key, expected: "array of integers", found: value.typeDescription) }
    return integers
  }
}
