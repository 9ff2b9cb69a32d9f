/// A compile-time attribute value of an op, written in braces after the operands:
/// `{axes = [1], keepdims = true, epsilon = 1.0e-05, kind = lt, to = f16}`.
public enum Attribute: Hashable, Sendable, CustomStringConvertible {
  /// An integer: `axis = 1`.
  case int(Int)
  /// A floating-point number: `epsilon = 1.0e-05`.
  case float(Double)
  /// A boolean: `keepdims = true`.
  case bool(Bool)
  /// A bare word: `kind = lt`, `to = f16`, `approximate = tanh`.
  case symbol(String)
  /// A list of integers: `axes = [0, 2]`.
  case ints([Int])

  /// The text form.
  public var description: String {
    switch self {
    case .int(let value): String(value)
    case .float(let value): ElementCodec.formatFloat(value)
    case .bool(let value): value ? "true" : "false"
    case .symbol(let word): word
    case .ints(let values): "[" + values.map(String.init).joined(separator: ", ") + "]"
    }
  }
}

/// The attributes of one op, printed in key order so that the text form is canonical.
public struct Attributes: Hashable, Sendable, ExpressibleByDictionaryLiteral, Sequence {
  private var storage: [String: Attribute]

  /// Creates attributes from a dictionary literal.
  public init(dictionaryLiteral elements: (String, Attribute)...) {
    storage = Dictionary(elements, uniquingKeysWith: { _, last in last })
  }

  /// Creates attributes from a dictionary.
  public init(_ dictionary: [String: Attribute] = [:]) { storage = dictionary }

  /// The attribute named `key`, if present.
  public subscript(key: String) -> Attribute? {
    get { storage[key] }
    set { storage[key] = newValue }
  }

  /// True when there are no attributes.
  public var isEmpty: Bool { storage.isEmpty }

  /// The attribute names in canonical (sorted) order.
  public var keys: [String] { storage.keys.sorted() }

  /// Iterates `(name, value)` pairs in canonical order.
  public func makeIterator() -> IndexingIterator<[(String, Attribute)]> {
    keys.map { ($0, storage[$0]!) }.makeIterator()
  }
}

extension Attributes {
  /// The integer attribute `key`, or `nil` when absent or of another kind.
  public func int(_ key: String) -> Int? {
    if case .int(let value)? = self[key] { return value }
    return nil
  }

  /// The numeric attribute `key` (an integer is widened), or `nil`.
  public func double(_ key: String) -> Double? {
    switch self[key] {
    case .float(let value)?: value
    case .int(let value)?: Double(value)
    default: nil
    }
  }

  /// The boolean attribute `key`, or `nil`.
  public func bool(_ key: String) -> Bool? {
    if case .bool(let value)? = self[key] { return value }
    return nil
  }

  /// The integer-list attribute `key`, or `nil`.
  public func ints(_ key: String) -> [Int]? {
    if case .ints(let value)? = self[key] { return value }
    return nil
  }

  /// The bare-word attribute `key`, or `nil`.
  public func symbol(_ key: String) -> String? {
    if case .symbol(let value)? = self[key] { return value }
    return nil
  }
}
