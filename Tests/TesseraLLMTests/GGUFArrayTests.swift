import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Metadata arrays held packed (``GGUFArray``, ``PackedStrings``): read back from files that
/// Python's `struct` writes straight from the format description, and rejected with the key,
/// the element and the byte offset when they run past the end.
@Suite struct GGUFArrayTests {
  @Test func packedStringsGiveBackEachString() {
    let strings = ["", "a", "héllo", "Ġthe", "", "<|im_end|>", String(repeating: "x", count: 40)]
    let packed = PackedStrings(strings)
    #expect(Array(packed) == strings && packed.count == 7)
    #expect(Array(packed.utf8(at: 2)) == [0x68, 0xC3, 0xA9, 0x6C, 0x6C, 0x6F] && packed.utf8(at: 4).isEmpty)
    #expect(packed.totalBytes == strings.reduce(0) { $0 + $1.utf8.count })
    let literal: PackedStrings = ["", "a", "héllo", "Ġthe", "", "<|im_end|>", String(repeating: "x", count: 40)]
    #expect(literal == packed && literal.hashValue == packed.hashValue)
    #expect(PackedStrings(["ab", "c"]) != PackedStrings(["a", "bc"]))
  }

  @Test func arraysOfValuesDecodeEachElement() {
    let values: [GGUFValue] = [.int16(-2), .int16(300), .int16(-32768)]
    let array = GGUFArray(elementType: .int16, elements: values)
    #expect(Array(array) == values && array.compactMap(\.integer) == [-2, 300, -32768])
    let flags = GGUFArray(elementType: .bool, elements: [.bool(false), .bool(true)])
    #expect(Array(flags) == [.bool(false), .bool(true)] && flags.strings == nil)
    let words = GGUFArray(elementType: .string, elements: [.string("a"), .string("")])
    #expect(words.strings == ["a", ""] && words[1] == .string(""))
  }

  @Test(.enabled(if: TestSupport.pythonAvailable, "python3 is not installed"))
  func readsArraysThatPythonWrote() throws {
    let directory = TestSupport.temporaryDirectory("gguf-arrays")
    let script = #"""
      import struct
      def s(b): return struct.pack('<Q', len(b)) + b
      def kv(key, payload): return s(key.encode()) + struct.pack('<I', 9) + payload
      def arr(code, items): return struct.pack('<IQ', code, len(items)) + b''.join(items)
      words = [b'', b'a', 'h\u00e9llo'.encode(), '\u0120the'.encode(), b'<|im_end|>', b'abcdefghijklmnopqrstuvwxyz', b'\xff']
      kvs = [kv('strings', arr(8, [s(w) for w in words])),
             kv('i16', arr(3, [struct.pack('<h', v) for v in (-2, 300, -32768)])),
             kv('u64', arr(10, [struct.pack('<Q', v) for v in (0, 2**63 + 5)])),
             kv('f32', arr(6, [struct.pack('<f', v) for v in (1.5, -0.25)])),
             kv('bools', arr(7, [bytes([v]) for v in (0, 1, 2)])),
             kv('nested', arr(9, [arr(0, [b'\x01', b'\x02']), arr(8, [])]))]
      open('arrays.gguf', 'wb').write(b'GGUF' + struct.pack('<IQQ', 3, 0, len(kvs)) + b''.join(kvs))
      """#
    let result = try TestSupport.runProcess("/usr/bin/env", ["python3", "-c", script], directory: directory)
    #expect(result.status == 0, "\(result.stderr)")
    let file = try GGUFFile(path: directory + "/arrays.gguf")

    let words = try file.stringArray("strings")
    #expect(Array(words) == ["", "a", "héllo", "Ġthe", "<|im_end|>", "abcdefghijklmnopqrstuvwxyz", "\u{FFFD}"])
    #expect(Array(words.utf8(at: 6)) == [0xFF] && words.totalBytes == 0 + 1 + 6 + 5 + 10 + 26 + 1)
    #expect(try file.integerArray("i16") == [-2, 300, -32768])
    #expect(try file.array("u64", of: .uint64)[1] == .uint64(1 << 63 + 5))
    #expect(throws: GGUFError.wrongType(key: "u64", expected: "array of integers", found: "array of u64")) {
      try file.integerArray("u64")  // 2^63 + 5 is no Int
    }
    #expect(try file.floatArray("f32") == [1.5, -0.25])
    let flags = try file.array("bools", of: .bool)
    #expect(Array(flags) == [.bool(false), .bool(true), .bool(true)])
    // The byte 2 is held as true's 1: equal to the array made from values.
    #expect(flags == GGUFArray(elementType: .bool, elements: [.bool(false), .bool(true), .bool(true)]))
    let nested = try file.array("nested", of: .array)
    #expect(nested.count == 2)
    #expect(nested[0] == .array(GGUFArray(elementType: .uint8, elements: [.uint8(1), .uint8(2)])))
    #expect(nested[1] == .array(GGUFArray(elementType: .string, elements: [])))
    #expect(
      file.metadata["i16"]
        == .array(GGUFArray(elementType: .int16, elements: [.int16(-2), .int16(300), .int16(-32768)])))
    #expect(throws: GGUFError.wrongType(key: "i16", expected: "array of string", found: "array of i16")) {
      try file.stringArray("i16")
    }
  }

  /// A file whose only key `k` is an array of two strings: `hello`, then `second` (a length,
  /// then its bytes, as given).
  func twoStrings(second: [UInt8]) -> [UInt8] {
    var out = ByteWriter.ggufHeader(tensors: 0, keys: 1)
    out.string("k")
    out.u32(9)
    out.u32(8)
    out.u64(2)
    out.string("hello")
    out.bytes += second
    return out.bytes
  }

  @Test func namesTheKeyElementAndOffsetOfAStringPastTheEnd() throws {
    let path = TestSupport.temporaryDirectory("gguf-bad") + "/strings.gguf"
    // Header 24 bytes, key 9, value type 4, element type 4, count 8: the first string's length
    // is at byte 49, its bytes at 57…61, the second string's length at 62.
    try Data(twoStrings(second: [1, 0, 0])).write(to: URL(fileURLWithPath: path))
    #expect(throws: GGUFError.truncated(what: "k element 1 string byte count", offset: 62, needed: 8, available: 3)) {
      try GGUFFile(path: path)
    }
    var long = ByteWriter()
    long.u64(1000)
    long.bytes += Array("abc".utf8)
    try Data(twoStrings(second: long.bytes)).write(to: URL(fileURLWithPath: path))
    #expect(throws: GGUFError.countTooLarge(what: "k element 1 string byte", offset: 62, count: 1000, limit: 3)) {
      try GGUFFile(path: path)
    }
    let message = GGUFError.countTooLarge(what: "k element 1 string byte", offset: 62, count: 1000, limit: 3)
      .description
    #expect(message == "GGUF k element 1 string byte count 1000 at byte 62 cannot fit in the file (at most 3)")
  }
}
