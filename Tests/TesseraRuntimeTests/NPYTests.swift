import Foundation
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@Suite(".npy reading and writing")
struct NPYTests {
  /// A `.npy` file built by hand: magic, version, header length, header text, data.
  private func handMade(version: UInt8 = 1, header: String, data: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    let length = header.utf8.count
    let lengthBytes = version == 1 ? 2 : 4
    for i in 0..<lengthBytes { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * i))) }
    return bytes + Array(header.utf8) + data
  }

  private func message(_ bytes: [UInt8]) -> String? {
    do {
      _ = try NPY.decode(bytes, file: "x.npy")
      return nil
    } catch {
      return error.description
    }
  }

  @Test func readsAHandMadeVersion1File() throws {
    let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]  // 1.0, 2.0
    let tensor = try NPY.decode(
      handMade(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", data: data))
    #expect(tensor.type == TensorType(.f32, [2]))
    #expect(tensor.floats == [1, 2])
  }

  @Test func readsVersions2And3AndScalars() throws {
    let v2 = try NPY.decode(
      handMade(
        version: 2, header: "{'descr': '<i8', 'fortran_order': False, 'shape': (), }\n", data: [5, 0, 0, 0, 0, 0, 0, 0])
    )
    #expect(v2.type == TensorType(.i64, []))
    #expect(v2.int64s == [5])
    let v3 = try NPY.decode(
      handMade(version: 3, header: "{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"|b1\"}\n", data: [1, 0]))
    #expect(v3.type == TensorType(.bool, [1, 2]))
    #expect(v3.doubles == [1, 0])
  }

  @Test(
    "round trip of every NumPy dtype",
    arguments: [DType.f32, .f16, .i64, .i32, .i8, .u8, .bool])
  func roundTrip(dtype: DType) throws {
    var generator = SeededRandom(seed: 3)
    let tensor = Tensor.random(TensorType(dtype, [3, 1, 4]), integerBound: 100, using: &generator)
    let decoded = try NPY.decode(try NPY.encode(tensor))
    #expect(decoded == tensor)
    #expect(try NPY.encode(tensor).count % 64 == tensor.bytes.count % 64, "header padded to 64 bytes")
  }

  @Test func malformedFilesGiveClearErrors() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
    #expect(
      message(Array("PK\u{3}\u{4}not npy".utf8)) == "x.npy: not a valid .npy file: missing the \\x93NUMPY magic string")
    #expect(
      message(Array(handMade(header: header, data: []).prefix(9)))
        == "x.npy: not a valid .npy file: missing the \\x93NUMPY magic string")
    #expect(
      message(Array(handMade(header: header, data: []).prefix(30)))
        == "x.npy: not a valid .npy file: header of 58 bytes runs past the end of the file (30 bytes)")
    #expect(
      message(handMade(header: header, data: [0, 0, 0]))
        == "x.npy: not a valid .npy file: f32[2] needs 8 data bytes, the file has 3")
    #expect(
      message(handMade(version: 9, header: header, data: []))
        == "x.npy: unsupported .npy array: format version 9.0 (expected 1, 2 or 3)")
    #expect(
      message(handMade(header: "{'descr': '<f4', 'shape': (2,), }", data: []))
        == "x.npy: not a valid .npy file: header has no 'fortran_order' flag")
    #expect(
      message(handMade(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", data: []))
        == "x.npy: not a valid .npy file: header: expected an integer in the shape tuple, found ''")
    #expect(
      message(handMade(header: "{'descr': '<f4' 'fortran_order': False}", data: []))
        == "x.npy: not a valid .npy file: header: expected '}' at offset 16 of the header")
    #expect(
      message(handMade(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", data: []))
        == "x.npy: not a valid .npy file: shape [-2] is negative or too large")
    #expect(
      message(
        handMade(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: []))
        == "x.npy: not a valid .npy file: shape [4294967296, 4294967296] is negative or too large")
  }

  @Test func unsupportedArraysAreNamed() {
    func file(_ descr: String, fortran: Bool = false) -> [UInt8] {
      handMade(
        header: "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': (1,), }\n",
        data: [0, 0, 0, 0])
    }
    #expect(
      message(file("<f4", fortran: true))
        == "x.npy: unsupported .npy array: Fortran order; save a C-ordered array (np.ascontiguousarray)")
    #expect(message(file(">f4")) == "x.npy: unsupported .npy array: big-endian dtype '>f4'; use a little-endian array")
    #expect(
      message(file("|O"))
        == "x.npy: unsupported .npy array: dtype '|O' (object, structured or unknown dtypes cannot be read)")
    #expect(
      message(file("<f8")) == "x.npy: unsupported .npy array: dtype '<f8' (Tessera reads f4, f2, i8, i4, i1, u1, b1)")
    #expect(
      message(file("<c8")) == "x.npy: unsupported .npy array: dtype '<c8' (Tessera reads f4, f2, i8, i4, i1, u1, b1)")
  }

  @Test func bf16AndQuantizedCannotBeWritten() {
    #expect(throws: NPYError.unsupported(file: "<npy>", message: "bf16 has no NumPy dtype; cast it to f32 first")) {
      try NPY.encode(Tensor([1], shape: [1], dtype: .bf16))
    }
  }

  @Test func missingFileIsNamed() {
    #expect(throws: NPYError.io(file: "/nonexistent/a.npy", message: "no such file")) {
      try NPY.read(path: "/nonexistent/a.npy")
    }
  }

  @Test(
    "files agree with numpy both ways", .enabled(if: TestSupport.numpyAvailable, "python3 with numpy is not installed"))
  func numpyInterop() throws {
    let directory = TestSupport.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let script = """
      import numpy as np
      np.save('ints.npy', np.arange(-3, 3, dtype=np.int64).reshape(2, 3))
      np.save('halves.npy', np.array([0.5, -1.25, 65504], dtype=np.float16))
      np.save('flags.npy', np.array([[True], [False]]))
      x = np.load('ours.npy'); assert x.dtype == np.float32 and x.shape == (2, 2), (x.dtype, x.shape)
      assert (x == np.array([[1, 2], [3, 4]], np.float32)).all()
      """
    try NPY.write(Tensor([1, 2, 3, 4], shape: [2, 2]), path: directory + "/ours.npy")
    let result = try TestSupport.runProcess("/usr/bin/env", ["python3", "-c", script], directory: directory)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(try NPY.read(path: directory + "/ints.npy").int64s == [-3, -2, -1, 0, 1, 2])
    #expect(try NPY.read(path: directory + "/halves.npy").doubles == [0.5, -1.25, 65504])
    let flags = try NPY.read(path: directory + "/flags.npy")
    #expect(flags.type == TensorType(.bool, [2, 1]) && flags.doubles == [1, 0])
  }
}
