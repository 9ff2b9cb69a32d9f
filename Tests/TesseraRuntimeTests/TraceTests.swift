import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// `TraceRecorder`: a compile and a run on every usable device give a well-formed Chrome trace
/// with host spans and each kernel's device time on the device's own track.
@Suite("Tracing: one Chrome trace for every device")
struct TraceTests {
  private static let registry = DeviceRegistry.standard()
  private static let deviceNames = registry.availableDevices.map(\.info.name)

  /// A matmul, a softmax and an argmax: every device has kernels to run.
  private static let graph = try! TestSupport.parseOne(
    """
    func @traced(%x: f32[4,32], %w: f32[32,16]) -> (f32[4,16], i32[4]) {
      %h = matmul %x, %w : f32[4,16]
      %p = softmax %h {axis = 1} : f32[4,16]
      %c = argmax %p {axis = 1} : i32[4]
      return %p, %c
    }
    """)

  @Test("compile and run traced", arguments: deviceNames)
  func compileAndRun(device name: String) throws {
    let device = try Self.registry.device(named: name)
    var generator = SeededRandom(seed: 3)
    let inputs = Self.graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let recorder = TraceRecorder()
    let traced = try recorder.recording { try device.compile(Self.graph).run(inputs: inputs) }
    #expect(TraceRecorder.current == nil)
    let trace = ChromeTraceCheck(recorder.chromeTrace())
    #expect(trace.problems.isEmpty, "\(trace.problems)")
    let host = trace.spans(process: "host", thread: "main").map(\.name)
    #expect(host.contains { $0.hasPrefix("run @traced") }, "\(host)")

    // The same work untraced and profiled: the results are the same, and the kernels it times
    // are the kernels on the device's track.
    let compiled = try device.compile(Self.graph)
    let profiled = try compiled.execute(inputs.map { .host($0) }, profile: true)
    #expect(try profiled.results.map { try $0.hostTensor() } == traced)
    guard let kernels = profiled.kernels else { return }
    #expect(host.contains { $0.hasPrefix("compile @traced for ") }, "\(host)")
    for pass in ["pass canonicalize", "pass cse", "pass dce", "fusion", "kernels", "memory plan", "upload inputs"] {
      #expect(host.contains(pass), "\(pass) missing from \(host)")
    }
    #expect(host.contains { $0.hasPrefix("submit ") } && host.contains("read back"), "\(host)")
    let onDevice = trace.spans(process: name, thread: "kernels").map(\.name)
    #expect(onDevice == kernels.map(\.kernel))
  }

  @Test func theNPUDrawsItsUnits() throws {
    guard let npu = try? Self.registry.device(named: "npu") else { return }
    let recorder = TraceRecorder()
    _ = try recorder.recording { try npu.compile(Self.graph).run(inputs: TestSupport.exampleInputs(Self.graph)) }
    let trace = ChromeTraceCheck(recorder.chromeTrace())
    #expect(trace.problems.isEmpty, "\(trace.problems)")
    #expect(trace.spans.contains { $0.process == "npu" && $0.thread == "cube" && $0.name.hasPrefix("mmad") })
  }

  @Test func withoutARecorderNothingIsRecordedAndSpansStillRun() throws {
    #expect(TraceRecorder.current == nil)
    #expect(TraceRecorder.span("untraced") { 42 } == 42)
    let recorder = TraceRecorder()
    recorder.recording { TraceRecorder.span("inside") {} }
    TraceRecorder.span("outside") {}
    #expect(recorder.spans.map(\.name) == ["inside"])
  }

  @Test func namesAreEscapedAndDeviceEventsDoNotOverlap() throws {
    let recorder = TraceRecorder()
    recorder.record(TraceSpan(name: "quote \" back\\slash\nnew line\u{1}", track: .host, start: 1, duration: 2))
    let kernels = [
      KernelTiming(kernel: "a", seconds: 2e-6), KernelTiming(kernel: "b", seconds: 1e-6),
      KernelTiming(kernel: "c", seconds: 1e-6, start: 0),
    ]
    recorder.recordKernels(kernels, device: "dev", anchor: 10)
    let trace = ChromeTraceCheck(recorder.chromeTrace())
    #expect(trace.problems.isEmpty, "\(trace.problems)")
    #expect(trace.spans.first?.name == "quote \" back\\slash\nnew line\u{1}")
    let device = trace.spans(process: "dev", thread: "kernels")
    // a at 10 µs for 2, b right after it, c asked for offset 0 but starts when b ends.
    #expect(device.map(\.name) == ["a", "b", "c"])
    #expect(device.map(\.start) == [10, 12, 13])
  }
}
