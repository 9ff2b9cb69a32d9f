extension OpExample {
  /// `conv2d`, `max_pool2d`, `avg_pool2d` and `pad`, each checked against numpy computing every
  /// window from an explicitly padded input.
  static let windows: [OpExample] = [
    OpExample(
      .conv2d, "3x3 pads strides",
      function(
        "%x: f32[2,3,7,6], %w: f32[4,3,3,3]", "f32[2,4,4,3]",
        "  %y = conv2d %x, %w {pads = [1, 1, 1, 1], strides = [2, 2]} : f32[2,4,4,3]\n  return %y"),
      numpy: convolutionNumpy(strides: (2, 2), pads: (1, 1, 1, 1), dilations: (1, 1), groups: 1)),
    OpExample(
      .conv2d, "groups dilations uneven pads",
      function(
        "%x: f32[1,4,6,6], %w: f32[6,2,2,2]", "f32[1,6,5,6]",
        "  %y = conv2d %x, %w {dilations = [2, 1], groups = 2, pads = [0, 1, 1, 0]} : f32[1,6,5,6]\n  return %y"),
      numpy: convolutionNumpy(strides: (1, 1), pads: (0, 1, 1, 0), dilations: (2, 1), groups: 2)),
    OpExample(
      .conv2d, "1x1",
      function(
        "%x: f32[1,5,3,4], %w: f32[2,5,1,1]", "f32[1,2,3,4]", "  %y = conv2d %x, %w : f32[1,2,3,4]\n  return %y"),
      numpy: "x, w = ins; out = np.einsum('nchw,oc->nohw', x.astype(np.float64), w[:, :, 0, 0])"),
    OpExample(
      .maxPool2d, "3x3 stride 2 pads",
      function(
        "%x: f32[1,2,7,7]", "f32[1,2,4,4]",
        "  %y = max_pool2d %x {kernel = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]} : f32[1,2,4,4]\n  return %y"),
      numpy: poolNumpy(kernel: (3, 3), strides: (2, 2), pads: (1, 1, 1, 1), ceilMode: false, includePadding: false)),
    OpExample(
      .maxPool2d, "ceil_mode dilations",
      function(
        "%x: f32[2,1,7,5]", "f32[2,1,4,2]",
        "  %y = max_pool2d %x {ceil_mode = true, dilations = [1, 2], kernel = [2, 2], strides = [2, 2]} : f32[2,1,4,2]\n  return %y"
      ),
      numpy: poolNumpy(
        kernel: (2, 2), strides: (2, 2), pads: (0, 0, 0, 0), dilations: (1, 2), ceilMode: true, includePadding: false)),
    OpExample(
      .avgPool2d, "pads exclude padding",
      function(
        "%x: f32[2,3,5,5]", "f32[2,3,3,3]",
        "  %y = avg_pool2d %x {kernel = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]} : f32[2,3,3,3]\n  return %y"),
      numpy: poolNumpy(
        kernel: (3, 3), strides: (2, 2), pads: (1, 1, 1, 1), average: true, ceilMode: false, includePadding: false)),
    OpExample(
      .avgPool2d, "count_include_pad ceil_mode",
      function(
        "%x: f32[1,2,5,6]", "f32[1,2,3,4]",
        "  %y = avg_pool2d %x {ceil_mode = true, count_include_pad = true, kernel = [2, 3], pads = [0, 1, 0, 1], strides = [2, 2]} : f32[1,2,3,4]\n  return %y"
      ),
      numpy: poolNumpy(
        kernel: (2, 3), strides: (2, 2), pads: (0, 1, 0, 1), average: true, ceilMode: true, includePadding: true)),
    OpExample(
      .pad, "constant value",
      function(
        "%x: f32[2,3]", "f32[5,4]", "  %y = pad %x {pads = [1, 0, 2, 1], value = 1.5} : f32[5,4]\n  return %y"),
      numpy: "x = ins[0]; out = np.pad(x, ((1, 2), (0, 1)), constant_values=1.5)"),
    OpExample(
      .pad, "reflect",
      function(
        "%x: f32[3,4]", "f32[5,8]", "  %y = pad %x {mode = reflect, pads = [2, 1, 0, 3]} : f32[5,8]\n  return %y"),
      numpy: "x = ins[0]; out = np.pad(x, ((2, 0), (1, 3)), mode='reflect')"),
    OpExample(
      .pad, "edge i32",
      function(
        "%x: i32[2,3]", "i32[3,6]", "  %y = pad %x {mode = edge, pads = [0, 2, 1, 1]} : i32[3,6]\n  return %y"),
      numpy: "x = ins[0]; out = np.pad(x, ((0, 1), (2, 1)), mode='edge')"),
  ]

  /// Numpy for `conv2d`: each output element the sum of its window of the zero-padded input
  /// times the filter, in float64.
  private static func convolutionNumpy(
    strides s: (Int, Int), pads p: (Int, Int, Int, Int), dilations d: (Int, Int), groups: Int
  ) -> String {
    """
    x, w = ins; s, p, d, g = \(s), \(p), \(d), \(groups)
    N, C, H, W = x.shape; O, Cg, KH, KW = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    OH = (H + p[0] + p[2] - d[0] * (KH - 1) - 1) // s[0] + 1; OW = (W + p[1] + p[3] - d[1] * (KW - 1) - 1) // s[1] + 1
    out = np.zeros((N, O, OH, OW))
    for o in range(O):
      c0 = o // (O // g) * Cg
      for i in range(OH):
        for j in range(OW):
          patch = xp[:, c0:c0 + Cg, i * s[0]:i * s[0] + d[0] * (KH - 1) + 1:d[0], j * s[1]:j * s[1] + d[1] * (KW - 1) + 1:d[1]]
          out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    """
  }

  /// Numpy for the pools as PyTorch and onnxruntime define them: the taps of each window inside
  /// the input, their maximum or their mean over the taps inside the input (or inside the input
  /// and its padding), windows counted with `ceil_mode` as those start inside the padded input.
  private static func poolNumpy(
    kernel k: (Int, Int), strides s: (Int, Int), pads p: (Int, Int, Int, Int), dilations d: (Int, Int) = (1, 1),
    average: Bool = false, ceilMode: Bool, includePadding: Bool
  ) -> String {
    """
    x = ins[0]; k, s, p, d = \(k), \(s), \(p), \(d); N, C, H, W = x.shape
    def size(n, a):
      span = n + p[a] + p[a + 2] - d[a] * (k[a] - 1) - 1
      o = -(-span // s[a]) + 1 if \(ceilMode ? "True" : "False") else span // s[a] + 1
      return o - 1 if \(ceilMode ? "True" : "False") and (o - 1) * s[a] >= n + p[a] else o
    OH, OW = size(H, 0), size(W, 1); out = np.zeros((N, C, OH, OW))
    for i in range(OH):
      for j in range(OW):
        rows = [i * s[0] - p[0] + t * d[0] for t in range(k[0])]; cols = [j * s[1] - p[1] + t * d[1] for t in range(k[1])]
        inr = [r for r in rows if 0 <= r < H]; inc = [c for c in cols if 0 <= c < W]
        win = x[:, :, inr][:, :, :, inc].astype(np.float64)
        if \(average ? "False" : "True"): out[:, :, i, j] = win.max(axis=(2, 3)); continue
        if \(includePadding ? "True" : "False"): cnt = len([r for r in rows if -p[0] <= r < H + p[2]]) * len([c for c in cols if -p[1] <= c < W + p[3]])
        else: cnt = len(inr) * len(inc)
        out[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
    """
  }
}
