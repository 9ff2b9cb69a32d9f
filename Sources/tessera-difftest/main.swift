import Foundation
import Tessera
import TesseraTestSupport

// tessera-difftest: seeded random graphs on every usable device, compared with the reference
// evaluator; each mismatch is minimised and written out for `tessera run` to replay.

let usage = """
  USAGE: tessera-difftest [--count N] [--seed S] [--devices all|NAME,NAME…] [--operations K] [--out DIR]

  Runs N random graphs (seeds S, S+1, …; default 100 from 0) of K random steps (default 10) on
  each device and compares every result with the reference evaluator (the npu at its wider fp16
  tolerance). `all` is every usable device but the reference, without `kir` (the Kernel IR
  interpreter, slow) when N is over 200; name it to include it. A mismatch prints the minimised
  graph and writes it with its inputs to DIR/seed-S-DEVICE/ (default .build/difftest). Exit
  status: 0 when all agree, 1 on a mismatch, 2 on bad arguments.
  """

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("tessera-difftest: \(message)\n\n\(usage)\n".utf8))
  exit(2)
}

var options: [String: String] = [:]
var rest = CommandLine.arguments.dropFirst()
while let option = rest.popFirst() {
  if option == "--help" {
    print(usage)
    exit(0)
  }
  guard ["--count", "--seed", "--devices", "--operations", "--out"].contains(option), let value = rest.popFirst() else {
    fail("unknown option or missing value: \(option)")
  }
  options[option] = value
}
guard let count = UInt64(options["--count"] ?? "100"), let first = UInt64(options["--seed"] ?? "0"),
  let operations = Int(options["--operations"] ?? "10"), operations > 0
else { fail("--count, --seed and --operations take non-negative integers") }
let output = options["--out"] ?? ".build/difftest"

let registry = DeviceRegistry.standard()
let devices: [any Device]
if (options["--devices"] ?? "all") == "all" {
  devices = registry.availableDevices.filter { $0.info.kind != .reference && ($0.info.kind != .kir || count <= 200) }
} else {
  do {
    devices = try options["--devices"]!.split(separator: ",").map { try registry.device(named: String($0)) }
  } catch {
    fail("\(error)")
  }
}
print("difftest: \(count) graphs from seed \(first) on \(devices.map(\.info.name).joined(separator: ", "))")

let runner = DifferentialRunner(devices: devices, operations: operations)
let start = Date()
var mismatches = 0
for seed in first..<(first + count) {
  do {
    for mismatch in try runner.check(seed: seed) {
      mismatches += 1
      let replay = try mismatch.write(to: "\(output)/seed-\(seed)-\(mismatch.device)")
      print("MISMATCH \(mismatch)\nreplay: \(replay)\n")
    }
  } catch {
    print("seed \(seed): the generator failed: \(error)")
    mismatches += 1
  }
}
print(
  "difftest: \(count) graphs x \(devices.count) devices in \(String(format: "%.1f", Date().timeIntervalSince(start))) s, \(mismatches) mismatch(es)"
)
exit(mismatches == 0 ? 0 : 1)
