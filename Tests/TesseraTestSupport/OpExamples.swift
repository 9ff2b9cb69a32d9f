import TesseraIR

/// One small graph per op (several for ops with interesting variants), with the numpy
/// expression that computes the same result independently. The IR tests round-trip every
/// example; the backend tests run every example and compare with numpy and the reference.
public struct OpExample: Sendable, CustomStringConvertible {
  /// The op under test.
  public var op: OpKind
  /// A short label for the variant.
  public var label: String
  /// A complete `.tir` function.
  public var text: String
  /// A numpy expression over `ins[0]`, `ins[1]`… giving the expected result; `nil` where numpy
  /// has no equivalent (quantized storage).
  public var numpy: String?
  /// Absolute and relative tolerance against numpy's float64 result.
  public var atol: Double
  /// Relative tolerance.
  public var rtol: Double

  init(_ op: OpKind, _ label: String, _ text: String, numpy: String?, atol: Double = 1e-5, rtol: Double = 1e-4) {
    self.op = op
    self.label = label
    self.text = text
    self.numpy = numpy
    self.atol = atol
    self.rtol = rtol
  }

  /// `op/label`.
  public var description: String { "\(op)/\(label)" }
}

extension OpExample {
  /// Every example; together they cover every ``OpKind``.
  public static let all: [OpExample] =
    binary + unary + other + reductions + contraction + movement + composite + windows + sources

  static func function(_ signature: String, _ result: String, _ body: String) -> String {
    "func @f(\(signature)) -> \(result) {\n\(body)\n}\n"
  }

  private static let binary: [OpExample] =
    [("add", "a + b"), ("sub", "a - b"), ("mul", "a * b"), ("max", "np.maximum(a, b)"), ("min", "np.minimum(a, b)")].map
  { name, expression in
    OpExample(
      OpKind(rawValue: name)!, "broadcast",
      function("%a: f32[2,3], %b: f32[3]", "f32[2,3]", "  %y = \(name) %a, %b : f32[2,3]\n  return %y"),
      numpy: "a, b = ins; out = \(expression)")
  } + [
    OpExample(
      .div, "broadcast",
      function("%a: f32[3,1], %b: f32[4]", "f32[3,4]", "  %y = div %a, %b : f32[3,4]\n  return %y"),
      numpy: "a, b = ins; out = a / b", atol: 1e-4),
    OpExample(
      .div, "integer floor",
      function(
        "%a: i32[5], %b: i32[]", "i32[5]",
        "  %m = constant -7 : i32[]\n  %c = constant [7, -7, 6, -6, 0] : i32[5]\n  %y = div %c, %m : i32[5]\n  %z = add %y, %a : i32[5]\n  %w = mul %z, %b : i32[5]\n  return %w"
      ),
      numpy: "a, b = ins; out = ((np.array([7, -7, 6, -6, 0], np.int32) // np.int32(-7)) + a) * b"),
    OpExample(
      .pow, "positive base",
      function("%a: f32[4], %b: f32[4]", "f32[4]", "  %p = abs %a : f32[4]\n  %y = pow %p, %b : f32[4]\n  return %y"),
      numpy: "a, b = ins; out = np.abs(a) ** b", atol: 1e-4),
    OpExample(
      .add, "integer wrap",
      function(
        "%a: u8[4], %b: u8[4]", "u8[4]",
        "  %c = constant 255 : u8[4]\n  %s = add %a, %c : u8[4]\n  %y = sub %s, %b : u8[4]\n  return %y"),
      numpy: "a, b = ins; out = (a + np.uint8(255)) - b"),
  ]

  private static let unary: [OpExample] =
    [
      ("neg", "-x", false), ("abs", "np.abs(x)", false), ("exp", "np.exp(x)", false), ("log", "np.log(x)", true),
      ("sqrt", "np.sqrt(x)", true), ("rsqrt", "1 / np.sqrt(x)", true), ("reciprocal", "1 / x", true),
      ("tanh", "np.tanh(x)", false),
      ("sigmoid", "1 / (1 + np.exp(-x))", false), ("silu", "x / (1 + np.exp(-x))", false),
      ("gelu", "0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))", false), ("relu", "np.maximum(x, 0)", false),
      ("sin", "np.sin(x)", false), ("cos", "np.cos(x)", false), ("erf", "np.vectorize(math.erf)(x)", false),
    ].map { name, expression, positive in
      let body =
        positive
        ? "  %p = abs %x : f32[3,5]\n  %q = add %p, %half : f32[3,5]\n  %y = \(name) %q : f32[3,5]\n  return %y"
        : "  %y = \(name) %x : f32[3,5]\n  return %y"
      let prelude = positive ? "x = np.abs(ins[0]) + 0.5; " : "x = ins[0]; "
      let text = function("%x: f32[3,5]", "f32[3,5]", positive ? "  %half = constant 0.5 : f32[]\n" + body : body)
      return OpExample(
        OpKind(rawValue: name)!, positive ? "positive input" : "f32", text, numpy: prelude + "out = " + expression)
    } + [
      OpExample(
        .gelu, "tanh form",
        function("%x: f32[6]", "f32[6]", "  %y = gelu %x {approximate = tanh} : f32[6]\n  return %y"),
        numpy: "x = ins[0]; out = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))"),
      OpExample(
        .exp, "f16", function("%x: f16[8]", "f16[8]", "  %y = exp %x : f16[8]\n  return %y"),
        numpy: "x = ins[0]; out = np.exp(x.astype(np.float64)).astype(np.float16)", atol: 1e-3, rtol: 1e-3),
      OpExample(
        .neg, "i64",
        function(
          "%x: i64[3]", "i64[3]",
          "  %y = neg %x : i64[3]\n  %z = abs %y : i64[3]\n  %w = relu %y : i64[3]\n  %s = sub %z, %w : i64[3]\n  return %s"
        ),
        numpy: "x = ins[0]; y = -x; out = np.abs(y) - np.maximum(y, 0)"),
    ]

  private static let other: [OpExample] =
    CompareKind.allCases.map { kind in
      let symbol = ["lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="][kind.rawValue]!
      return OpExample(
        .compare, kind.rawValue,
        function(
          "%a: i32[4,3], %b: i32[3]", "bool[4,3]",
          "  %y = compare %a, %b {kind = \(kind.rawValue)} : bool[4,3]\n  return %y"),
        numpy: "a, b = ins; out = a \(symbol) b")
    } + [
      OpExample(
        .compare, "f32 lt",
        function("%a: f32[5], %b: f32[]", "bool[5]", "  %y = compare %a, %b {kind = lt} : bool[5]\n  return %y"),
        numpy: "a, b = ins; out = a < b"),
      OpExample(
        .select, "broadcast",
        function(
          "%c: bool[2,1], %a: f32[2,3], %b: f32[3]", "f32[2,3]", "  %y = select %c, %a, %b : f32[2,3]\n  return %y"),
        numpy: "c, a, b = ins; out = np.where(c, a, b)"),
      OpExample(
        .cast, "f32 to i32",
        function(
          "%x: f32[6]", "i32[6]",
          "  %ten = constant 10.0 : f32[]\n  %s = mul %x, %ten : f32[6]\n  %y = cast %s {to = i32} : i32[6]\n  return %y"
        ),
        numpy: "x = ins[0]; out = (x * np.float32(10)).astype(np.int32)"),
      OpExample(
        .cast, "f32 to f16 to f32",
        function(
          "%x: f32[6]", "f32[6]", "  %h = cast %x {to = f16} : f16[6]\n  %y = cast %h {to = f32} : f32[6]\n  return %y"),
        numpy: "x = ins[0]; out = x.astype(np.float16).astype(np.float32)", atol: 0, rtol: 0),
      OpExample(
        .cast, "f32 to bf16",
        function("%x: f32[4]", "bf16[4]", "  %y = cast %x {to = bf16} : bf16[4]\n  return %y"),
        numpy: "x = ins[0]; out = x", atol: 0, rtol: 1.0 / 256),
    ]

  private static let reductions: [OpExample] = [
    OpExample(
      .reduceSum, "axis 1 keepdims",
      function(
        "%x: f32[3,4,2]", "f32[3,1,2]", "  %y = reduce_sum %x {axes = [1], keepdims = true} : f32[3,1,2]\n  return %y"),
      numpy: "x = ins[0]; out = x.sum(axis=1, keepdims=True)"),
    OpExample(
      .reduceSum, "all axes", function("%x: i32[3,4]", "i32[]", "  %y = reduce_sum %x : i32[]\n  return %y"),
      numpy: "x = ins[0]; out = x.sum().astype(np.int32)"),
    OpExample(
      .reduceMax, "axis -1",
      function("%x: f32[3,4]", "f32[3]", "  %y = reduce_max %x {axes = [-1]} : f32[3]\n  return %y"),
      numpy: "x = ins[0]; out = x.max(axis=-1)"),
    OpExample(
      .reduceMin, "axis 0",
      function("%x: f32[3,4]", "f32[4]", "  %y = reduce_min %x {axes = [0]} : f32[4]\n  return %y"),
      numpy: "x = ins[0]; out = x.min(axis=0)"),
    OpExample(
      .reduceMean, "axes 0 and 2",
      function("%x: f32[2,3,4]", "f32[3]", "  %y = reduce_mean %x {axes = [0, 2]} : f32[3]\n  return %y"),
      numpy: "x = ins[0]; out = x.mean(axis=(0, 2))"),
    OpExample(
      .argmax, "axis 1", function("%x: f32[3,7]", "i32[3]", "  %y = argmax %x {axis = 1} : i32[3]\n  return %y"),
      numpy: "x = ins[0]; out = np.argmax(x, axis=1).astype(np.int32)"),
    OpExample(
      .argmax, "ties pick the first",
      function("%x: i32[2,5]", "i32[2,1]", "  %y = argmax %x {axis = 1, keepdims = true} : i32[2,1]\n  return %y"),
      numpy: "x = ins[0]; out = np.argmax(x, axis=1).astype(np.int32).reshape(2, 1)"),
  ]

  private static let contraction: [OpExample] = [
    OpExample(
      .matmul, "2-D",
      function("%a: f32[5,7], %b: f32[7,3]", "f32[5,3]", "  %y = matmul %a, %b : f32[5,3]\n  return %y"),
      numpy: "a, b = ins; out = a @ b"),
    OpExample(
      .matmul, "batched broadcast",
      function("%a: f32[2,1,3,4], %b: f32[5,4,2]", "f32[2,5,3,2]", "  %y = matmul %a, %b : f32[2,5,3,2]\n  return %y"),
      numpy: "a, b = ins; out = a @ b"),
    OpExample(
      .matmul, "vector-matrix",
      function("%a: f32[4], %b: f32[4,6]", "f32[6]", "  %y = matmul %a, %b : f32[6]\n  return %y"),
      numpy: "a, b = ins; out = a @ b"),
    OpExample(
      .matmul, "matrix-vector",
      function("%a: f32[3,4], %b: f32[4]", "f32[3]", "  %y = matmul %a, %b : f32[3]\n  return %y"),
      numpy: "a, b = ins; out = a @ b"),
    OpExample(
      .matmul, "integer",
      function("%a: i32[2,3], %b: i32[3,2]", "i32[2,2]", "  %y = matmul %a, %b : i32[2,2]\n  return %y"),
      numpy: "a, b = ins; out = a @ b"),
  ]

  private static let movement: [OpExample] = [
    OpExample(
      .transpose, "perm",
      function("%x: f32[2,3,4]", "f32[3,2,4]", "  %y = transpose %x {perm = [1, 0, 2]} : f32[3,2,4]\n  return %y"),
      numpy: "x = ins[0]; out = np.transpose(x, (1, 0, 2))"),
    OpExample(
      .transpose, "default reverses",
      function("%x: f32[2,3,4]", "f32[4,3,2]", "  %y = transpose %x : f32[4,3,2]\n  return %y"),
      numpy: "x = ins[0]; out = x.T"),
    OpExample(
      .reshape, "with -1",
      function("%x: f32[2,3,4]", "f32[4,6]", "  %y = reshape %x {shape = [4, -1]} : f32[4,6]\n  return %y"),
      numpy: "x = ins[0]; out = x.reshape(4, -1)"),
    OpExample(
      .broadcast, "to rank 3",
      function("%x: f32[3,1]", "f32[2,3,4]", "  %y = broadcast %x {shape = [2, 3, 4]} : f32[2,3,4]\n  return %y"),
      numpy: "x = ins[0]; out = np.broadcast_to(x, (2, 3, 4))"),
    OpExample(
      .slice, "start end step",
      function(
        "%x: f32[4,7]", "f32[2,3]",
        "  %y = slice %x {end = [3, 7], start = [1, 1], step = [1, 2]} : f32[2,3]\n  return %y"),
      numpy: "x = ins[0]; out = x[1:3, 1:7:2]"),
    OpExample(
      .concat, "axis 1",
      function(
        "%a: f32[2,3], %b: f32[2,1], %c: f32[2,2]", "f32[2,6]",
        "  %y = concat %a, %b, %c {axis = 1} : f32[2,6]\n  return %y"),
      numpy: "a, b, c = ins; out = np.concatenate([a, b, c], axis=1)"),
    OpExample(
      .gather, "embedding rows",
      function(
        "%table: f32[5,3], %ids: i32[2,4]", "f32[2,4,3]",
        "  %y = gather %table, %ids {axis = 0} : f32[2,4,3]\n  return %y"),
      numpy: "t, i = ins; out = np.take(t, i, axis=0)"),
    OpExample(
      .gather, "axis 1",
      function(
        "%table: f32[2,6], %ids: i64[3]", "f32[2,3]", "  %y = gather %table, %ids {axis = 1} : f32[2,3]\n  return %y"),
      numpy: "t, i = ins; out = np.take(t, i, axis=1)"),
    OpExample(
      .updateSlice, "rows at a start",
      function(
        "%base: f32[5,3], %u: f32[2,3]", "f32[5,3]",
        "  %p = constant [1] : i32[1]\n  %y = update_slice %base, %u, %p {axis = 0} : f32[5,3]\n  return %y"),
      numpy: "b, u = ins; out = b.copy(); out[1:3] = u"),
  ]

  private static let composite: [OpExample] = [
    OpExample(
      .softmax, "last axis",
      function("%x: f32[3,5]", "f32[3,5]", "  %y = softmax %x {axis = -1} : f32[3,5]\n  return %y"),
      numpy: "x = ins[0]; e = np.exp(x - x.max(-1, keepdims=True)); out = e / e.sum(-1, keepdims=True)"),
    OpExample(
      .softmax, "axis 0", function("%x: f32[4,2]", "f32[4,2]", "  %y = softmax %x {axis = 0} : f32[4,2]\n  return %y"),
      numpy: "x = ins[0]; e = np.exp(x - x.max(0, keepdims=True)); out = e / e.sum(0, keepdims=True)"),
    OpExample(
      .rmsNorm, "llama",
      function(
        "%x: f32[3,8], %w: f32[8]", "f32[3,8]",
        "  %y = rms_norm %x, %w {axis = -1, epsilon = 1.0e-06} : f32[3,8]\n  return %y"),
      numpy: "x, w = ins; out = x / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + 1e-6) * w"),
    OpExample(
      .layerNorm, "weight and bias",
      function(
        "%x: f32[2,6], %w: f32[6], %b: f32[6]", "f32[2,6]",
        "  %y = layer_norm %x, %w, %b {epsilon = 1.0e-05} : f32[2,6]\n  return %y"),
      numpy:
        "x, w, b = ins; m = x.mean(-1, keepdims=True); v = x.var(-1, keepdims=True); out = (x - m) / np.sqrt(v + 1e-5) * w + b"
    ),
    OpExample(
      .layerNorm, "no parameters", function("%x: f32[3,4]", "f32[3,4]", "  %y = layer_norm %x : f32[3,4]\n  return %y"),
      numpy:
        "x = ins[0]; m = x.mean(-1, keepdims=True); v = x.var(-1, keepdims=True); out = (x - m) / np.sqrt(v + 1e-5)"),
    OpExample(
      .rope, "normal mode",
      function(
        "%x: f32[3,2,8], %pos: i32[3]", "f32[3,2,8]", "  %y = rope %x, %pos {theta = 10000.0} : f32[3,2,8]\n  return %y"
      ),
      numpy: ropeNumpy(neox: false), atol: 1e-5),
    OpExample(
      .rope, "neox mode",
      function(
        "%x: f32[4,6], %pos: i32[4]", "f32[4,6]",
        "  %y = rope %x, %pos {mode = neox, theta = 500.0} : f32[4,6]\n  return %y"),
      numpy: ropeNumpy(neox: true, theta: 500), atol: 1e-5),
    OpExample(
      .rope, "neox mode, three heads, odd number of pairs",
      function(
        "%x: f32[2,3,6], %pos: i32[2]", "f32[2,3,6]",
        "  %y = rope %x, %pos {mode = neox, theta = 10000.0} : f32[2,3,6]\n  return %y"),
      numpy: ropeNumpy(neox: true), atol: 1e-5),
  ]

  private static func ropeNumpy(neox: Bool, theta: Double = 10000) -> String {
    let pairs = neox ? "i0 = np.arange(half); i1 = i0 + half" : "i0 = np.arange(half) * 2; i1 = i0 + 1"
    return """
      x, pos = ins; d = x.shape[-1]; half = d // 2; \(pairs)
      ang = pos.astype(np.float64).reshape((-1,) + (1,) * (x.ndim - 1)) * (\(theta) ** (-2.0 * np.arange(half) / d))
      if x.ndim == 2: ang = ang.reshape(x.shape[0], half)
      u = x[..., i0].astype(np.float64); v = x[..., i1].astype(np.float64); out = x.astype(np.float64).copy()
      out[..., i0] = u * np.cos(ang) - v * np.sin(ang); out[..., i1] = u * np.sin(ang) + v * np.cos(ang)
      """
  }

  private static let sources: [OpExample] = [
    OpExample(
      .constant, "list and splat",
      function(
        "%x: f32[2,3]", "f32[2,3]",
        "  %c = constant [1.5, -2.0, 3.25] : f32[3]\n  %s = constant 2.0 : f32[2,3]\n  %y = mul %x, %c : f32[2,3]\n  %z = add %y, %s : f32[2,3]\n  return %z"
      ),
      numpy: "x = ins[0]; out = x * np.array([1.5, -2.0, 3.25], np.float32) + 2"),
    OpExample(
      .constant, "bool",
      function(
        "%x: f32[3]", "f32[3]",
        "  %m = constant [true, false, true] : bool[3]\n  %z = constant 0.0 : f32[]\n  %y = select %m, %x, %z : f32[3]\n  return %y"
      ),
      numpy: "x = ins[0]; out = np.where([True, False, True], x, 0)"),
    OpExample(
      .dequantize, "q8_0 weights",
      function("%w: q8_0[2,32]", "f32[2,32]", "  %y = dequantize %w : f32[2,32]\n  return %y"),
      numpy: nil),
    OpExample(
      .dequantize, "q4_1 to f16",
      function("%w: q4_1[32]", "f16[32]", "  %y = dequantize %w {to = f16} : f16[32]\n  return %y"),
      numpy: nil),
  ]
}
