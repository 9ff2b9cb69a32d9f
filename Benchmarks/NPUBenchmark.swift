import Foundation
import Tessera

/// `tessera-bench npu`: GEMM on the NPU's cycle model (cube utilisation, a size sweep and the
/// roofline as SVG) and the emulator's own speed on the host.
enum NPUBenchmark {
  struct Point {
    var label: String
    var intensity: Double  // MACs per byte of global memory traffic
    var macsPerCycle: Double
  }

  static func gemm(_ m: Int, _ k: Int, _ n: Int) throws -> (NPUProgramSet, [UInt8]) {
    try compile(
      "func @gemm(%a: f16[\(m),\(k)], %b: f16[\(k),\(n)]) -> f16[\(m),\(n)] {\n  %c = matmul %a, %b : f16[\(m),\(n)]\n  return %c\n}\n"
    )
  }

  static func compile(_ text: String) throws -> (NPUProgramSet, [UInt8]) {
    let graph = try Parser.parse(text, file: "bench.tir").functions[0]
    let device = NPUDevice(
      options: CompileOptions(passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), fallback: "cpu"),
      host: InterpreterKernelRunner())
    let lowered = try device.programs(graph)
    return (lowered, [UInt8](repeating: 0, count: lowered.layout.bytes))
  }

  static func run(svgPath: String, repeats: Int) throws {
    let emulator = Emulator()
    print("GEMM fp16 on the cycle model (default config: 1 GHz, 4096 MAC/cycle, GM 128 B/cycle each way)")
    print("shape               cycles      MAC/cycle  cube util  mte2 busy  GM bytes     MAC/byte")
    var points: [Point] = []
    let shapes = [
      (1024, 1024, 1024), (64, 64, 64), (128, 128, 128), (256, 256, 256), (512, 512, 512), (2048, 2048, 2048),
      (1, 4096, 4096), (16, 4096, 4096), (64, 4096, 4096), (4096, 64, 4096),
    ]
    for (m, k, n) in shapes {
      let (lowered, global) = try gemm(m, k, n)
      var memory = global
      let report = try emulator.run(lowered.programs.values.first!, globalMemory: &memory, functional: false)
      let traffic = (report.bytes[.gm2l1] ?? 0) + (report.bytes[.gm2ub] ?? 0) + (report.bytes[.ub2gm] ?? 0)
      let intensity = Double(report.macs) / Double(traffic)
      let label = "\(m)x\(k)x\(n)"
      points.append(Point(label: label, intensity: intensity, macsPerCycle: report.macsPerCycle))
      print(
        label.padding(toLength: 18, withPad: " ", startingAt: 0)
          + String(
            format: "  %-10d  %-9.0f  %8.1f%%  %8.1f%%  %-11d  %.1f", report.cycles, report.macsPerCycle,
            report.cubeUtilisation * 100, report.busyFraction(.mte2) * 100, traffic, intensity))
    }
    try roofline(points, config: NPUConfig()).write(toFile: svgPath, atomically: true, encoding: .utf8)
    print("wrote roofline \(svgPath)")
    try vectorRows(emulator)

    let size = 256
    let (lowered, global) = try gemm(size, size, size)
    let program = lowered.programs.values.first!
    // Operands of 1.0 (fp16 0x3C00): the emulator does the same work for any values.
    var memory = (0..<global.count).map { UInt8($0 % 2 == 0 ? 0x00 : 0x3C) }
    let seconds = try bestTime(repeats) { _ = try emulator.run(program, globalMemory: &memory) }
    let macs = Double(size * size * size)
    print(
      String(
        format: "emulator speed: GEMM %d^3 functional in %.3f s = %.1f M simulated MAC/s on the host", size, seconds,
        macs / seconds / 1e6))
  }

  /// Row ops decomposed into reductions and elementwise groups, all on the vector unit: cycles
  /// summed over their programs, unit utilisation and GM bandwidth against the 128 B/cycle of a
  /// DMA direction.
  static func vectorRows(_ emulator: Emulator) throws {
    print("row ops on the vector unit (f16 in and out, summed over the op's programs)")
    print("op                  programs  cycles      vector busy  mte2 busy  GM bytes     GM B/cycle")
    let (rows, cols) = (64, 4096)
    let type = "f16[\(rows),\(cols)]"
    let ops = [
      ("softmax", "%x: \(type)", "softmax %x {axis = -1}"),
      ("rms_norm", "%x: \(type), %w: f16[\(cols)]", "rms_norm %x, %w {axis = -1, epsilon = 1.0e-06}"),
    ]
    for (name, arguments, op) in ops {
      let (lowered, global) = try compile(
        "func @\(name)(\(arguments)) -> \(type) {\n  %y = \(op) : \(type)\n  return %y\n}\n")
      var memory = global
      var report = CycleReport(config: emulator.config)
      for index in lowered.programs.keys.sorted() {
        report = report.followed(
          by: try emulator.run(lowered.programs[index]!, globalMemory: &memory, functional: false))
      }
      let traffic = (report.bytes[.gm2ub] ?? 0) + (report.bytes[.ub2gm] ?? 0)
      print(
        "\(name) \(rows)x\(cols)".padding(toLength: 18, withPad: " ", startingAt: 0)
          + String(
            format: "  %-8d  %-10d  %10.1f%%  %8.1f%%  %-11d  %.1f", lowered.programs.count, report.cycles,
            report.busyFraction(.vector) * 100, report.busyFraction(.mte2) * 100, traffic,
            Double(traffic) / Double(report.cycles)))
    }
  }

  /// Achieved MAC/cycle against arithmetic intensity on log axes, under the compute roof (peak
  /// MAC/cycle) and the memory roof (intensity x GM read bandwidth).
  static func roofline(_ points: [Point], config: NPUConfig) -> String {
    let (width, height, margin) = (640.0, 420.0, 60.0)
    let peak = Double(config.peakMACsPerCycle), bandwidth = Double(config.gmRead.bytesPerCycle)
    let (xMin, xMax, yMin, yMax) = (0.25, 4096.0, 1.0, peak * 2)
    func x(_ value: Double) -> Double { margin + (log2(value / xMin) / log2(xMax / xMin)) * (width - 2 * margin) }
    func y(_ value: Double) -> Double {
      height - margin - (log2(value / yMin) / log2(yMax / yMin)) * (height - 2 * margin)
    }
    var svg = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="11">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(width / 2)" y="20" text-anchor="middle" font-size="14">NPU GEMM roofline (fp16, default config)</text>
      <text x="\(width / 2)" y="\(height - 15)" text-anchor="middle">arithmetic intensity (MAC per byte of global memory traffic)</text>
      <text x="15" y="\(height / 2)" transform="rotate(-90 15 \(height / 2))" text-anchor="middle">achieved MAC/cycle</text>
      <line x1="\(margin)" y1="\(height - margin)" x2="\(width - margin)" y2="\(height - margin)" stroke="black"/>
      <line x1="\(margin)" y1="\(margin)" x2="\(margin)" y2="\(height - margin)" stroke="black"/>

      """
    let ridge = peak / bandwidth
    svg +=
      "<polyline fill=\"none\" stroke=\"#c33\" stroke-width=\"2\" points=\"\(x(xMin)),\(y(Swift.max(xMin * bandwidth, yMin))) \(x(ridge)),\(y(peak)) \(x(xMax)),\(y(peak))\"/>\n"
    svg +=
      "<text x=\"\(x(ridge) + 5)\" y=\"\(y(peak) - 6)\" fill=\"#c33\">peak \(Int(peak)) MAC/cycle; GM \(Int(bandwidth)) B/cycle</text>\n"
    for point in points {
      let (px, py) = (x(point.intensity), y(Swift.max(point.macsPerCycle, yMin)))
      svg += "<circle cx=\"\(px)\" cy=\"\(py)\" r=\"4\" fill=\"#36c\"/>\n"
      svg += "<text x=\"\(px + 6)\" y=\"\(py + 4)\">\(point.label)</text>\n"
    }
    return svg + "</svg>\n"
  }
}
