/// A hash of text that is the same in every process and on every machine (Swift's `Hasher` is
/// seeded per process), for naming files in the cache folders.
public enum StableHash {
  /// A 128-bit FNV-1a hash (two 64-bit lanes) of `text`'s UTF-8 bytes, as 32 hex digits.
  public static func hex(_ text: String) -> String {
    var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x6c62_272e_07bb_0142
    for byte in text.utf8 {
      a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
      b = (b ^ UInt64(byte)) &* 0x100_0000_01b3 &+ 0x9e37_79b9
    }
    return [a, b].map { lane in
      let digits = String(lane, radix: 16)
      return String(repeating: "0", count: 16 - digits.count) + digits
    }.joined()
  }
}
