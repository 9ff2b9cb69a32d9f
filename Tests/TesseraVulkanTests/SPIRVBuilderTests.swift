import Foundation
import TesseraVulkan
import Testing

@Suite("SPIR-V builder")
struct SPIRVBuilderTests {
  @Test func typesAndConstantsAreDeclaredOnce() {
    let b = SPIRVBuilder()
    let pointer = b.type(.pointer(.f32, .function))
    #expect(b.type(.pointer(.f32, .function)) == pointer)
    #expect(b.type(.f32) < pointer, "the pointee is declared before the pointer")
    #expect(b.type(.i32) != b.type(.u32))
    #expect(b.float32(1) == b.float32(1))
    #expect(b.float32(1) != b.constant(.u32, bits: [Float(1).bitPattern]), "same bits, other type")
    #expect(b.constant(true) == b.constant(true) && b.constant(true) != b.constant(false))
  }

  @Test func idsAreHandedOutInOrderAndTheBoundFollowsTheLast() {
    let b = SPIRVBuilder()
    #expect(b.makeID() == 1)
    #expect(b.type(.bool) == 2)
    #expect(b.makeID() == 3)
    #expect(b.finish(function: 3).bound == 7)  // void, function type and the entry label follow
  }

  /// The smallest compute shader, with every word derived by hand from the specification.
  @Test func aTinyModuleEncodesAsTheSpecificationSays() throws {
    let b = SPIRVBuilder()
    b.capability(.shader)
    let function = b.makeID()
    b.entryPoint(function, name: "main", interface: [], localSize: [1, 1, 1])
    let module = b.finish(function: function)
    let expected: [UInt32] = [
      0x0723_0203, 0x0001_0300, 0, 5, 0,  // magic, version 1.3, generator, bound, schema
      0x0002_0011, 1,  // OpCapability Shader
      0x0003_000E, 0, 1,  // OpMemoryModel Logical GLSL450
      0x0005_000F, 5, 1, 0x6E69_616D, 0,  // OpEntryPoint GLCompute %1 "main"
      0x0006_0010, 1, 17, 1, 1, 1,  // OpExecutionMode %1 LocalSize 1 1 1
      0x0002_0013, 2,  // %2 = OpTypeVoid
      0x0003_0021, 3, 2,  // %3 = OpTypeFunction %2
      0x0005_0036, 2, 1, 0, 3,  // %1 = OpFunction %2 None %3
      0x0002_00F8, 4,  // %4 = OpLabel
      0x0001_00FD,  // OpReturn
      0x0001_0038,  // OpFunctionEnd
    ]
    #expect(module.words == expected)
    #expect(module.assembly.contains("%1 = OpFunction %2 0 %3"))
    #expect(module.assembly.contains("OpEntryPoint 5 %1 \"main\""))
    if SPIRVValidator.path != nil { #expect(try SPIRVValidator.problems(module) == nil) }
  }

  @Test func stringsArePaddedToWholeWordsWithATerminator() {
    let b = SPIRVBuilder()
    let set = b.importInstructionSet("GLSL.std.450")
    let module = b.finish(function: b.makeID())
    // "GLSL.std.450" is 12 bytes: three words and a fourth word holding the terminating zero.
    let instruction = module.instructions.first { $0.op == .extInstImport }!
    #expect(instruction.words == [0x0006_000B, set, 0x4C53_4C47, 0x6474_732E, 0x3035_342E, 0])
  }
}

@Suite("erf approximation")
struct ErfApproximationTests {
  @Test func withinOnePointThreeTenMillionthsRelativeOfFoundation() {
    for i in 0...12000 {
      let x = -6 + Double(i) * 0.001
      let exact = Foundation.erf(x)
      let approximate = ErfApproximation.evaluate(x)
      #expect(Swift.abs(approximate - exact) <= 1.3e-7 * Swift.abs(exact) + 1e-300, "erf(\(x))")
    }
  }
}
