// Decoding of each ONNX message from the protobuf wire format. Field numbers are those of the
// public onnx.proto specification; fields the importer does not use are skipped.

extension ONNXModel {
  /// Decodes a `ModelProto` from the bytes of an `.onnx` file.
  public init(bytes: [UInt8]) throws(ONNXError) {
    var reader = ProtoReader(bytes, path: "model")
    var sawGraph = false
    while let field = try reader.nextField() {
      switch field.number {
      case 1: irVersion = try reader.int64(field, "ir_version")
      case 2:
        try reader.expect(field, .lengthDelimited, "producer_name")
        producerName = try reader.string("producer_name")
      case 7:
        try reader.expect(field, .lengthDelimited, "graph")
        var message = try reader.message("graph")
        graph = try ONNXGraph(&message)
        sawGraph = true
      case 8:
        try reader.expect(field, .lengthDelimited, "opset_import")
        var message = try reader.message("opset_import[\(opsetImports.count)]")
        opsetImports.append(try ONNXOpsetImport(&message))
      default: try reader.skip(field)
      }
    }
    guard sawGraph else { throw .invalidValue(what: "model", message: "the file has no graph (is it an ONNX model?)") }
  }
}

extension ONNXOpsetImport {
  init(_ reader: inout ProtoReader) throws(ONNXError) {
    domain = ""
    version = 0
    while let field = try reader.nextField() {
      switch field.number {
      case 1:
        try reader.expect(field, .lengthDelimited, "domain")
        domain = try reader.string("domain")
      case 2: version = try reader.int64(field, "version")
      default: try reader.skip(field)
      }
    }
  }
}

extension ONNXGraph {
  init(_ reader: inout ProtoReader) throws(ONNXError) {
    while let field = try reader.nextField() {
      switch field.number {
      case 1:
        try reader.expect(field, .lengthDelimited, "node")
        var message = try reader.message("node[\(nodes.count)]")
        nodes.append(try ONNXNode(&message))
      case 2:
        try reader.expect(field, .lengthDelimited, "name")
        name = try reader.string("name")
      case 5:
        try reader.expect(field, .lengthDelimited, "initializer")
        var message = try reader.message("initializer[\(initializers.count)]")
        initializers.append(try ONNXTensor(&message))
      case 11, 12, 13:
        try reader.expect(field, .lengthDelimited, "value info")
        let label = field.number == 11 ? "input" : field.number == 12 ? "output" : "value_info"
        let count = field.number == 11 ? inputs.count : field.number == 12 ? outputs.count : valueInfo.count
        var message = try reader.message("\(label)[\(count)]")
        let info = try ONNXValueInfo(&message)
        if field.number == 11 {
          inputs.append(info)
        } else if field.number == 12 {
          outputs.append(info)
        } else {
          valueInfo.append(info)
        }
      default: try reader.skip(field)
      }
    }
  }
}

extension ONNXNode {
  init(_ reader: inout ProtoReader) throws(ONNXError) {
    while let field = try reader.nextField() {
      switch field.number {
      case 1, 2, 3, 4, 7:
        try reader.expect(field, .lengthDelimited, "string field \(field.number)")
        switch field.number {
        case 1: inputs.append(try reader.string("input[\(inputs.count)]"))
        case 2: outputs.append(try reader.string("output[\(outputs.count)]"))
        case 3: name = try reader.string("name")
        case 4: opType = try reader.string("op_type")
        default: domain = try reader.string("domain")
        }
      case 5:
        try reader.expect(field, .lengthDelimited, "attribute")
        var message = try reader.message("attribute[\(attributes.count)]")
        attributes.append(try ONNXAttribute(&message))
      default: try reader.skip(field)
      }
    }
  }
}

extension ONNXAttribute {
  init(_ reader: inout ProtoReader) throws(ONNXError) {
    while let field = try reader.nextField() {
      switch field.number {
      case 1:
        try reader.expect(field, .lengthDelimited, "name")
        name = try reader.string("name")
      case 20: kind = Kind(rawValue: try reader.int64(field, "type"))
      case 2: float = try reader.float(field, "f")
      case 3: int = try reader.int64(field, "i")
      case 4:
        try reader.expect(field, .lengthDelimited, "s")
        string = Array(try reader.data("s"))
      case 5:
        try reader.expect(field, .lengthDelimited, "t")
        var message = try reader.message("t")
        tensor = try ONNXTensor(&message)
      case 6:
        try reader.expect(field, .lengthDelimited, "g")
        var message = try reader.message("g")
        graph = try ONNXGraph(&message)
      case 7:
        var bits: [UInt64] = []
        try reader.repeatedFixed(field, width: 4, "floats", into: &bits)
        floats += bits.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }
      case 8: try reader.repeatedVarints(field, "ints", into: &ints)
      case 9:
        try reader.expect(field, .lengthDelimited, "strings")
        strings.append(Array(try reader.data("strings")))
      default: try reader.skip(field)
      }
    }
  }
}

extension ONNXValueInfo {
  init(_ reader: inout ProtoReader) throws(ONNXError) {
    while let field = try reader.nextField() {
      switch field.number {
      case 1:
        try reader.expect(field, .lengthDelimited, "name")
        name = try reader.string("name")
      case 2:
        try reader.expect(field, .lengthDelimited, "type")
        var type = try reader.message("type")
        while let typeField = try type.nextField() {
          guard typeField.number == 1 else {
            try type.skip(typeField)
            continue
          }
          try type.expect(typeField, .lengthDelimited, "tensor_type")
          var tensorType = try type.message("tensor_type")
          try readTensorType(&tensorType)
        }
      default: try reader.skip(field)
      }
    }
  }

  private mutating func readTensorType(_ reader: inout ProtoReader) throws(ONNXError) {
    while let field = try reader.nextField() {
      switch field.number {
      case 1: elementType = Int32(truncatingIfNeeded: try reader.int64(field, "elem_type"))
      case 2:
        try reader.expect(field, .lengthDelimited, "shape")
        var shape = try reader.message("shape")
        var dims: [Dimension] = []
        while let dimField = try shape.nextField() {
          guard dimField.number == 1 else {
            try shape.skip(dimField)
            continue
          }
          try shape.expect(dimField, .lengthDelimited, "dim")
          var dim = try shape.message("dim[\(dims.count)]")
          dims.append(try Self.dimension(&dim))
        }
        self.dims = dims
      default: try reader.skip(field)
      }
    }
  }

  private static func dimension(_ reader: inout ProtoReader) throws(ONNXError) -> Dimension {
    var result = Dimension.unknown
    while let field = try reader.nextField() {
      switch field.number {
      case 1: result = .value(try reader.int64(field, "dim_value"))
      case 2:
        try reader.expect(field, .lengthDelimited, "dim_param")
        result = .symbol(try reader.string("dim_param"))
      default: try reader.skip(field)
      }
    }
    return result
  }
}

extension ONNXTensor {
  /// Decodes a `TensorProto` on its own (the `.pb` files of ONNX's test data hold one).
  public init(bytes: [UInt8], path: String = "tensor") throws(ONNXError) {
    var reader = ProtoReader(bytes, path: path)
    try self.init(&reader)
  }

  init(_ reader: inout ProtoReader) throws(ONNXError) {
    while let field = try reader.nextField() {
      switch field.number {
      case 1: try reader.repeatedVarints(field, "dims", into: &dims)
      case 2: dataType = Int32(truncatingIfNeeded: try reader.int64(field, "data_type"))
      case 4: try reader.repeatedFixed(field, width: 4, "float_data", into: &floatData)
      case 5: try reader.repeatedVarints(field, "int32_data", into: &int32Data)
      case 6:
        try reader.skip(field)
        hasStringData = true
      case 7: try reader.repeatedVarints(field, "int64_data", into: &int64Data)
      case 8:
        try reader.expect(field, .lengthDelimited, "name")
        name = try reader.string("name")
      case 9:
        try reader.expect(field, .lengthDelimited, "raw_data")
        rawData = try reader.data("raw_data")
      case 10: try reader.repeatedFixed(field, width: 8, "double_data", into: &doubleData)
      case 11: try reader.repeatedVarints(field, "uint64_data", into: &uint64Data)
      case 13:
        try reader.expect(field, .lengthDelimited, "external_data")
        var entry = try reader.message("external_data")
        var key = "", value = ""
        while let entryField = try entry.nextField() {
          guard entryField.number == 1 || entryField.number == 2 else {
            try entry.skip(entryField)
            continue
          }
          try entry.expect(entryField, .lengthDelimited, "entry")
          let text = try entry.string(entryField.number == 1 ? "key" : "value")
          if entryField.number == 1 { key = text } else { value = text }
        }
        externalData[key] = value
      case 14: isExternal = try reader.int64(field, "data_location") == 1
      default: try reader.skip(field)
      }
    }
  }
}
