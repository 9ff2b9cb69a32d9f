/// GPT-2's reversible map between bytes and printable Unicode characters, which lets a BPE
/// vocabulary of strings cover every byte sequence.
///
/// Bytes that are printable Latin-1 (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves; the other
/// 68 bytes, in increasing order, become U+0100, U+0101, … (so a space is `Ġ`, U+0120).
package enum ByteLevelAlphabet {
  /// The character for each byte value.
  static let characters: [Unicode.Scalar] = {
    var result = [Unicode.Scalar](repeating: " ", count: 256)
    var next: UInt32 = 256
    for byte in 0..<256 {
      let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
      let code = printable ? UInt32(byte) : next
      if !printable { next += 1 }
      result[byte] = Unicode.Scalar(code)!
    }
    return result
  }()

  /// The byte each character of the alphabet stands for.
  static let bytes: [Unicode.Scalar: UInt8] = {
    Dictionary(uniqueKeysWithValues: characters.enumerated().map { ($1, UInt8($0)) })
  }()

  /// `text`'s UTF-8 bytes spelled in the alphabet.
  package static func encode<S: Sequence>(_ utf8: S) -> String where S.Element == UInt8 {
    var text = String.UnicodeScalarView()
    text.append(contentsOf: utf8.map { characters[Int($0)] })
    return String(text)
  }
}
