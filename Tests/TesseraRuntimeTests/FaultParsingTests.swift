import Tessera
import TesseraTestSupport
import Testing

@Suite("Fault injection: the TESSERA_FAULT syntax and which faults fit the devices")
struct FaultParsingTests {
  @Test(
    "well-formed lists",
    arguments: [
      ("alloc:opencl", [Fault(.alloc, device: "opencl")]),
      ("build:vulkan:1", [Fault(.build, device: "vulkan:1")]),
      ("timeout:opencl:0", [Fault(.timeout, device: "opencl:0")]),
      ("build:opencl:kernel=k3_matmul", [Fault(.build, device: "opencl", target: "k3_matmul")]),
      ("alloc:cpu:buffer=arena", [Fault(.alloc, device: "cpu", target: "arena")]),
      ("timeout:vulkan:2:kernel=k0_silu", [Fault(.timeout, device: "vulkan:2", target: "k0_silu")]),
      (
        " alloc:cpu , build:opencl:kernel=k1 ",
        [Fault(.alloc, device: "cpu"), Fault(.build, device: "opencl", target: "k1")]
      ),
      ("", []),
      ("  ", []),
    ])
  func parses(text: String, expected: [Fault]) throws {
    let parsed = try FaultInjection(parsing: text)
    #expect(parsed.faults == expected)
    #expect(try FaultInjection(parsing: parsed.description) == parsed, "the text form parses back")
  }

  @Test(
    "malformed entries are errors naming the entry and its bad part",
    arguments: [
      ("explode:opencl", "explode:opencl", "unknown fault kind 'explode' (expected alloc, build, timeout)"),
      ("build", "build", "no device (expected KIND:DEVICE)"),
      (
        "alloc:gpu", "alloc:gpu",
        "unknown device 'gpu' (expected reference, kir, cpu, opencl, vulkan, npu, optionally with :N)"
      ),
      ("alloc:opencl:x1", "alloc:opencl:x1", "'x1' is not a device number (expected opencl:N)"),
      ("alloc:opencl:-1", "alloc:opencl:-1", "'-1' is not a device number (expected opencl:N)"),
      (
        "alloc:opencl:kernel=k1", "alloc:opencl:kernel=k1", "unknown filter 'kernel=k1' (alloc faults take buffer=NAME)"
      ),
      ("build:vulkan:buffer=x", "build:vulkan:buffer=x", "unknown filter 'buffer=x' (build faults take kernel=NAME)"),
      ("timeout:opencl:kernel=", "timeout:opencl:kernel=", "'kernel=' names no kernel"),
      ("build:opencl:0:kernel=k:more", "build:opencl:0:kernel=k:more", "unexpected 'more' at the end"),
      ("alloc:cpu,,build:opencl", "", "an empty entry (two commas in a row, or one at an end?)"),
      ("alloc:cpu,", "", "an empty entry (two commas in a row, or one at an end?)"),
    ])
  func rejects(text: String, entry: String, problem: String) {
    #expect(throws: DeviceError.invalidFault(entry: entry, problem: problem)) { try FaultInjection(parsing: text) }
    let message = DeviceError.invalidFault(entry: entry, problem: problem).description
    #expect(message == "TESSERA_FAULT entry '\(entry)': \(problem)")
  }

  @Test func theEnvironmentVariableIsRead() throws {
    #expect(try FaultInjection.fromEnvironment([:]).isEmpty)
    #expect(
      try FaultInjection.fromEnvironment(["TESSERA_FAULT": "build:vulkan"]).faults == [Fault(.build, device: "vulkan")])
    #expect(throws: DeviceError.self) { try FaultInjection.fromEnvironment(["TESSERA_FAULT": "build:"]) }
  }

  @Test func faultsHitDevicesKernelsAndBuffersByName() throws {
    let faults = try FaultInjection(parsing: "build:opencl:1:kernel=k2_add,timeout:vulkan,alloc:cpu:buffer=w")
    #expect(faults.hit(.build, device: "opencl:1", targets: ["k1_mul", "k2_add"])?.target == "k2_add")
    #expect(faults.hit(.build, device: "opencl:1", targets: ["k1_mul"]) == nil, "another kernel")
    #expect(faults.hit(.build, device: "opencl:0", targets: ["k2_add"]) == nil, "another device")
    #expect(faults.hit(.timeout, device: "vulkan:0", targets: ["k0", "k1"])?.target == "k0", "any kernel: the first")
    #expect(faults.hit(.timeout, device: "vulkan:3", targets: ["k5"]) != nil, "a bare kind hits every device")
    #expect(faults.hit(.timeout, device: "vulkanite", targets: ["k5"]) == nil)
    #expect(faults.hit(.alloc, device: "cpu", targets: ["%w"])?.target == "%w", "buffer=w hits %w")
    #expect(faults.hit(.alloc, device: "cpu", targets: ["%x"]) == nil)
    #expect(faults.hit(.alloc, device: "opencl:1", targets: ["%w"]) == nil, "a kind the entry does not name")
    let arena = try FaultInjection(parsing: "alloc:vulkan:buffer=arena")
    #expect(
      arena.hit(.alloc, device: "vulkan:0", targets: ["the arena"])?.description
        == "injected fault alloc:vulkan:buffer=arena hit the arena")
  }

  /// A backend whose only entry is unusable, listed under its bare kind as real backends do.
  private struct MissingBackend: DeviceProvider {
    func discover() -> [DeviceEntry] {
      [
        DeviceEntry(
          unavailable: DeviceInfo(
            name: "vulkan", kind: .vulkan, summary: "-", driver: "-", availability: .unavailable(reason: "no loader")))
      ]
    }
  }

  @Test func theRegistryChecksFaultsAgainstItsDevices() throws {
    let registry = DeviceRegistry(providers: [ReferenceProvider(), CPUProvider(), MissingBackend()])
    try registry.check(FaultInjection(parsing: "alloc:cpu,alloc:cpu:buffer=arena"))
    try registry.check(FaultInjection(parsing: "build:vulkan,timeout:vulkan:1"))  // unusable: nothing runs there
    #expect(
      throws: DeviceError.invalidFault(entry: "build:cpu", problem: "cpu injects no build faults (it injects alloc)")
    ) {
      try registry.check(FaultInjection(parsing: "build:cpu"))
    }
    #expect(
      throws: DeviceError.invalidFault(
        entry: "alloc:reference", problem: "reference injects no alloc faults (it injects none)")
    ) {
      try registry.check(FaultInjection(parsing: "alloc:reference"))
    }
    #expect(
      throws: DeviceError.invalidFault(
        entry: "alloc:opencl", problem: "no device opencl (devices: reference, cpu, vulkan)")
    ) {
      try registry.check(FaultInjection(parsing: "alloc:opencl"))
    }
    #expect(
      throws: DeviceError.invalidFault(
        entry: "alloc:cpu:1", problem: "no device cpu:1 (devices: reference, cpu, vulkan)")
    ) {
      try registry.check(FaultInjection(parsing: "alloc:cpu:1"))
    }
  }
}
