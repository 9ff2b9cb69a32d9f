import Foundation
import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraOpenCL

@Suite("OpenCL C generation")
struct OpenCLCodegenTests {
  private func kernel(_ dtype: DType) throws -> Kernel {
    let k = KernelBuilder(name: "k0_exp", comment: "exp %y")
    let x = k.buffer("in0", dtype, .read), out = k.buffer("out", dtype, .write)
    k.launch(global: [.constant(8)], workgroup: [8])
    let i = k.globalID(0)
    out[i] = k.exp(x[i])
    return try k.finish()
  }

  @Test func kernelsCarryTheirNameTheFusedOpsAndTheLaunch() throws {
    let text = OpenCLCodegen.kernel(try kernel(.f32), options: OpenCLCodegenOptions())
    #expect(text.contains("// k0_exp: exp %y"))
    #expect(text.contains("__kernel __attribute__((reqd_work_group_size(8, 1, 1)))"))
    #expect(
      text.contains(
        "void k0_exp(__global const uchar* in0_base, uint in0_offset, __global uchar* out_base, uint out_offset)"))
    #expect(text.contains("const float v2 = exp(v1);") || text.contains("= exp("))
  }

  @Test func halfComputesAsFloatWithoutTheExtension() throws {
    let emulated = OpenCLCodegen.program([try kernel(.f16)], options: OpenCLCodegenOptions(nativeHalf: false))
    #expect(emulated.contains("vload_half(0, in0 + "))
    #expect(emulated.contains("vstore_half_rte("))
    #expect(!emulated.contains("cl_khr_fp16 : enable"))
    let native = OpenCLCodegen.program([try kernel(.f16)], options: OpenCLCodegenOptions(nativeHalf: true))
    #expect(native.contains("#pragma OPENCL EXTENSION cl_khr_fp16 : enable"))
    #expect(native.contains("const half "))
  }

  @Test func namesBecomeSafeIdentifiers() {
    #expect(OpenCLCodegen.identifier("out") == "out")
    #expect(OpenCLCodegen.identifier("float") == "float_")
    #expect(OpenCLCodegen.identifier("v12") == "v12_")
    #expect(OpenCLCodegen.identifier("a-b.c") == "a_b_c")
    #expect(OpenCLCodegen.identifier("3x") == "3x_")
  }

  @Test func floatLiteralsReadBackExactly() {
    #expect(OpenCLTypes.floatLiteral(0.5) == "0.5f")
    #expect(OpenCLTypes.floatLiteral(-2) == "(-2.0f)")
    #expect(OpenCLTypes.floatLiteral(.infinity) == "INFINITY")
    #expect(OpenCLTypes.floatLiteral(-.infinity) == "(-INFINITY)")
    #expect(OpenCLTypes.floatLiteral(.nan) == "NAN")
    for value: Float in [1e-5, 0.1, 3.4028235e38, Float.leastNormalMagnitude] {
      let text = OpenCLTypes.floatLiteral(value)
      #expect(Float(String(text.dropLast())) == value)
    }
  }

  @Test func buildErrorExcerptsMarkTheLineTheLogNames() {
    let source = (1...20).map { "line \($0)" }.joined(separator: "\n")
    let excerpt = OpenCLProgramCache.excerpt(of: source, near: "<source>:12:5: error: use of undeclared identifier")
    #expect(excerpt.contains(">   12 | line 12"))
    #expect(excerpt.contains("    9 | line 9"))
    #expect(!excerpt.contains("line 16"))
    let unlocated = OpenCLProgramCache.excerpt(of: source, near: "something went wrong")
    #expect(unlocated.hasPrefix("     1 | line 1"))
  }

  @Test func cacheKeysDependOnEveryByte() {
    #expect(StableHash.hex("a") != StableHash.hex("b"))
    #expect(StableHash.hex("kernel") == StableHash.hex("kernel"))
    #expect(StableHash.hex("").count == 32)
  }
}

@Suite("OpenCL programs on the device", .enabled(if: OpenCLTestDevice.available, OpenCLTestDevice.reason))
struct OpenCLProgramTests {
  @Test func discoveryDescribesTheDevice() throws {
    let device = try #require(OpenCLTestDevice.device)
    #expect(device.info.name.hasPrefix("opencl:"))
    #expect(device.info.availability == .available)
    #expect(device.properties.computeUnits >= 1)
    #expect(device.properties.maxWorkgroupSize >= 1)
    #expect(device.properties.globalMemoryBytes > 0)
    #expect(device.properties.openCLCVersion.contains("OpenCL C"))
    #expect(device.info.summary.contains("fp16 " + (device.properties.fp16 ? "yes" : "no")))
  }

  @Test func aBrokenSourceGivesTheBuildLogAndTheLinesAroundTheError() throws {
    let device = try #require(OpenCLTestDevice.device)
    let source = "__kernel void broken(__global float* out) {\n  out[0] = undefined_name;\n}\n"
    #expect {
      _ = try device.programs.program(source: source, name: "a broken kernel", kernels: ["broken"])
    } throws: { error in
      let text = "\(error)"
      return text.contains("could not build a broken kernel") && text.contains("undefined_name")
        && text.contains(">    2 |   out[0] = undefined_name;")
    }
  }

  @Test func programsAreBuiltOnceThenComeFromMemoryThenFromDisk() throws {
    let folder = TestSupport.temporaryDirectory("opencl-cache-count")
    let device = try #require(try OpenCLTestDevice.device?.configured(cacheDirectory: .some(folder)))
    let graph = try TestSupport.parseOne(
      "func @cached(%x: f32[5]) -> f32[5] {\n  %y = sqrt %x : f32[5]\n  %z = add %y, %x : f32[5]\n  return %z\n}")
    _ = try device.compile(graph)
    _ = try device.compile(graph)
    #expect(device.cacheStatistics == OpenCLCacheStatistics(sourceBuilds: 1, diskLoads: 0, memoryHits: 1))
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".bin") }.count == 1)
    let fresh = try device.configured(cacheDirectory: .some(folder))
    let input = Tensor([1, 4, 9, 16, 25], shape: [5])
    let result = try fresh.compile(graph).run(inputs: [input])[0]
    #expect(fresh.cacheStatistics == OpenCLCacheStatistics(sourceBuilds: 0, diskLoads: 1, memoryHits: 0))
    #expect(result.floats == [2, 6, 12, 20, 30])
  }
}
