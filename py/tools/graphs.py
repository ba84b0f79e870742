"""Build-time rewrites of the model graphs, with the onnx package (assemble.py runs them; never shipped).

assets.lock.json names each served file's steps (STEPS, which run in that order). Each keeps the graph's results (tests/test_model_graphs.py measures how
closely under native onnxruntime); they exist because a runtime cannot run, or runs slowly, the
graph as it ships.
"""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def keep_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """The graph with only the named outputs, and only the nodes and weights they need.

    IS-Net has eleven side outputs (deep supervision for training); each costs a
    convolution and an upsampling to full size on every run, and nobody reads them.
    """
    graph = model.graph
    missing = set(names) - {output.name for output in graph.output}
    if missing:
        raise ValueError(f"the graph has no output {sorted(missing)}")
    producer = {tensor: node for node in graph.node for tensor in node.output}
    needed, kept, todo = set(), set(), list(names)
    while todo:
        tensor = todo.pop()
        if tensor in needed:
            continue
        needed.add(tensor)
        node = producer.get(tensor)
        if node is not None and id(node) not in kept:
            kept.add(id(node))
            todo.extend(name for name in node.input if name)
    pruned = onnx.ModelProto()
    pruned.CopyFrom(model)
    graph = pruned.graph
    _keep(graph.output, lambda output: output.name in names)
    nodes = _topological([node for node in graph.node if any(tensor in needed for tensor in node.output)],
                         {tensor.name for tensor in graph.input} | {tensor.name for tensor in graph.initializer})
    del graph.node[:]
    graph.node.extend(nodes)
    _keep(graph.initializer, lambda initializer: initializer.name in needed)
    _keep(graph.value_info, lambda info: info.name in needed)
    onnx.checker.check_model(pruned)
    return pruned


def _topological(nodes: list, available: set[str]) -> list:
    """The nodes in an order where each comes after its inputs' producers, else in their own order.

    ONNX requires it; some exported graphs (fp16 conversions that append casts) break it,
    which onnxruntime forgives but the checker does not.
    """
    ordered, waiting, available = [], list(nodes), set(available) | {""}
    while waiting:
        ready = [node for node in waiting if all(name in available for name in node.input)]
        if not ready:
            raise ValueError(f"the graph has a cycle or a missing input at {waiting[0].name!r}")
        for node in ready:
            available.update(node.output)
        ordered.extend(ready)
        done = {id(node) for node in ready}
        waiting = [node for node in waiting if id(node) not in done]
    return ordered


def _keep(repeated, wanted) -> None:
    kept = [item for item in repeated if wanted(item)]
    del repeated[:]
    repeated.extend(kept)


def floor_pooling(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every MaxPool with ceil_mode=1 as ceil_mode=0, padded at the end where the two differ.

    onnxruntime-web's WebGPU MaxPool does not implement ceil_mode. A max ignores padding, so
    end padding up to the next stride gives the ceil-mode windows exactly. The sizes come from
    running the graph once on its fixed input shape (shape inference stops at computed Resizes).
    """
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    pools = [node for node in rewritten.graph.node if node.op_type == "MaxPool" and _attribute(node, "ceil_mode", 0)]
    sizes = _activation_shapes(model, [node.input[0] for node in pools])
    for node in pools:
        kernel, strides = _attribute(node, "kernel_shape"), _attribute(node, "strides")
        if _attribute(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or _attribute(node, "dilations", None):
            raise ValueError(f"{node.name}: only explicit pads without dilation are rewritten")
        spatial = sizes[node.input[0]][2:]
        pads = list(_attribute(node, "pads", [0] * 2 * len(spatial)))
        for axis, (size, k, s) in enumerate(zip(spatial, kernel, strides)):
            span = size + pads[axis] + pads[axis + len(spatial)] - k
            extra = s * math.ceil(span / s) - span
            # Runtimes disagree on a ceil-mode window that starts in the end padding: refuse those.
            if extra and s * math.ceil(span / s) >= size + pads[axis]:
                raise ValueError(f"{node.name}: a ceil-mode window would start in the padding")
            pads[axis + len(spatial)] += extra
        _set_attribute(node, "ceil_mode", 0)
        _set_attribute(node, "pads", pads)
    onnx.checker.check_model(rewritten)
    return rewritten


def float32_compute(model: onnx.ModelProto) -> onnx.ModelProto:
    """A half-precision graph computing in single precision, its weights still stored as halves.

    WebGPU adapters without the shader-f16 feature cannot run float16 kernels. Each float16
    weight is cast to float32 by a Cast node, which onnxruntime folds once when the session is
    created, so the download stays the same size.
    """
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    graph = rewritten.graph
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type == TensorProto.FLOAT16:
            half = f"{initializer.name}_float16"
            casts.append(helper.make_node("Cast", [half], [initializer.name], to=TensorProto.FLOAT,
                                          name=f"{half}_to_float"))
            initializer.name = half
    for node in graph.node:
        if node.op_type == "Cast" and _attribute(node, "to") == TensorProto.FLOAT16:
            _set_attribute(node, "to", TensorProto.FLOAT)
        if node.op_type == "Constant" and node.attribute[0].t.data_type == TensorProto.FLOAT16:
            value = numpy_helper.to_array(node.attribute[0].t).astype(np.float32)
            node.attribute[0].t.CopyFrom(numpy_helper.from_array(value, node.attribute[0].t.name))
    for info in [*graph.value_info, *graph.input, *graph.output]:
        if info.type.tensor_type.elem_type == TensorProto.FLOAT16:
            info.type.tensor_type.elem_type = TensorProto.FLOAT
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(rewritten)
    return rewritten


def quantize_8bit(model: onnx.ModelProto, keep_float: list[str]) -> onnx.ModelProto:
    """The graph's convolutions in 8 bits, except those of the stages named (the first part of a node's
    name: "stage1d" for "/stage1d/rebnconv1/conv_s1/Conv").

    onnxruntime's dynamic quantization: weights as uint8 with a scale per output channel, activations
    quantized as they come (DynamicQuantizeLinear + ConvInteger), so no calibration photos and the same
    bytes on every machine. On onnxruntime-web's wasm kernels the 8-bit convolutions take about 0.55x the
    float ones' time. Left in float are the stages whose quantization costs the mask most (measured stage
    by stage against the float graph, docs/quantization.md); on IS-Net medium that is the decoder's last
    two stages and its output convolution.
    """
    import tempfile
    from pathlib import Path

    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as folder:
        plain, prepared, quantized = (Path(folder) / f"{name}.onnx" for name in ("plain", "prepared", "quantized"))
        onnx.save(_float32_weights(model), plain)
        quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
        convs = [node.name for node in onnx.load(prepared).graph.node if node.op_type == "Conv"]
        stages = {name: name.split("/")[1] if name.count("/") > 1 else "" for name in convs}
        missing = set(keep_float) - set(stages.values())
        if missing:
            raise ValueError(f"the graph has no stage {sorted(missing)}")
        quantize_dynamic(prepared, quantized, per_channel=True, weight_type=QuantType.QUInt8,
                         nodes_to_exclude=[name for name, stage in stages.items() if stage in keep_float])
        return onnx.load(quantized)


def _float32_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """A half-precision graph with its weights and constants stored as float32, its float casts identities:
    what onnxruntime's quantizer reads (it quantizes float32 weights only)."""
    rewritten = float32_compute(model)
    graph = rewritten.graph
    halves = {initializer.name: initializer for initializer in graph.initializer}
    for node in [node for node in graph.node if node.op_type == "Cast" and node.input[0] in halves]:
        half = halves[node.input[0]]  # a weight float32_compute kept as a half, cast once: now stored in float32
        half.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(half).astype(np.float32), node.output[0]))
        graph.node.remove(node)
    for node in graph.node:
        if node.op_type == "Cast" and _attribute(node, "to") == TensorProto.FLOAT:
            node.op_type = "Identity"
            del node.attribute[:]
    onnx.checker.check_model(rewritten)
    return rewritten


def integer_convs_as_float(model: onnx.ModelProto) -> onnx.ModelProto:
    """A dynamically quantized graph (DynamicQuantizeLinear + ConvInteger) in float operators.

    WebGPU has no integer convolution kernels, so onnxruntime would run each one on the CPU and
    copy every activation back and forth. The same arithmetic in float: the activation is
    quantized exactly as DynamicQuantizeLinear does (scale from its range including zero, zero
    point, rounding, clipping to 0..255), its zero point subtracted, and convolved with the
    weights' integers minus their zero point (uint8 in the file, folded to float when the
    session is created). Integer products and sums are exact in float32 up to 2^24, so the only
    differences come from sums beyond that.
    """
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    graph = rewritten.graph
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = [numpy_helper.from_array(np.array(value, np.float32), name)
                 for name, value in (("dq_255", 255.0), ("dq_half", 0.5), ("dq_zero", 0.0), ("dq_tiny", 1e-30))]
    graph.initializer.extend(constants)
    integers = set()
    nodes = []
    for node in graph.node:
        if node.op_type == "DynamicQuantizeLinear":
            quantized, scale, zero = node.output
            if any(user.op_type != "ConvInteger" for name in (quantized, zero) for user in consumers.get(name, [])):
                raise ValueError(f"{node.name}: a quantized activation feeds something other than ConvInteger")
            nodes.extend(_quantize_in_float(node.input[0], quantized, scale, zero))
        elif node.op_type == "ConvInteger":
            x, weight, _, weight_zero = node.input
            real = f"{weight}_float"
            nodes.extend([
                helper.make_node("Cast", [weight], [f"{weight}_cast"], to=TensorProto.FLOAT),
                helper.make_node("Cast", [weight_zero], [f"{weight_zero}_cast"], to=TensorProto.FLOAT),
                helper.make_node("Sub", [f"{weight}_cast", f"{weight_zero}_cast"], [real]),
                helper.make_node("Conv", [f"{x}_centred", real], list(node.output), name=node.name,
                                 **{a.name: helper.get_attribute_value(a) for a in node.attribute}),
            ])
            integers.add(node.output[0])
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    # Convolution results were int32 and are float now; their declared types are dropped, not guessed.
    _keep(graph.value_info, lambda info: info.name not in integers)
    rewritten.CopyFrom(onnx.shape_inference.infer_shapes(rewritten))
    onnx.checker.check_model(rewritten)
    return rewritten


def _quantize_in_float(x: str, quantized: str, scale: str, zero: str) -> list:
    """DynamicQuantizeLinear's outputs for ConvInteger, as float: the scale, and x quantized minus its zero point."""
    def n(op, inputs, output, **attributes):
        return helper.make_node(op, inputs, [output], **attributes)

    return [
        n("ReduceMax", [x], f"{x}_max", keepdims=0),
        n("Relu", [f"{x}_max"], f"{x}_high"),                     # max(0, max(x))
        n("ReduceMin", [x], f"{x}_min", keepdims=0),
        n("Neg", [f"{x}_min"], f"{x}_negmin"),
        n("Relu", [f"{x}_negmin"], f"{x}_low_neg"),               # -min(0, min(x))
        n("Add", [f"{x}_high", f"{x}_low_neg"], f"{x}_range"),
        n("Div", [f"{x}_range", "dq_255"], scale),
        n("Add", [scale, "dq_tiny"], f"{x}_safe_scale"),          # an all-zero x: scale 0, everything 0
        n("Div", [f"{x}_low_neg", f"{x}_safe_scale"], f"{x}_zero_raw"),
        *_round_half_even(f"{x}_zero_raw", zero),
        n("Div", [x, f"{x}_safe_scale"], f"{x}_scaled"),
        *_round_half_even(f"{x}_scaled", f"{x}_rounded"),
        n("Add", [f"{x}_rounded", zero], f"{x}_shifted"),
        n("Clip", [f"{x}_shifted", "dq_zero", "dq_255"], quantized),
        n("Sub", [quantized, zero], f"{quantized}_centred"),
    ]


def _round_half_even(value: str, rounded: str) -> list:
    """ONNX Round (ties to even) from Floor, which WebGPU has: floor(v + 1/2), minus one on an odd tie."""
    def n(op, inputs, output):
        return helper.make_node(op, inputs, [output])

    return [
        n("Add", [value, "dq_half"], f"{value}_plus_half"),
        n("Floor", [f"{value}_plus_half"], f"{value}_up"),
        n("Sub", [f"{value}_up", value], f"{value}_excess"),
        n("Equal", [f"{value}_excess", "dq_half"], f"{value}_tie"),
        n("Mul", [f"{value}_up", "dq_half"], f"{value}_halved"),
        n("Floor", [f"{value}_halved"], f"{value}_halved_down"),
        n("Add", [f"{value}_halved_down", f"{value}_halved_down"], f"{value}_even"),
        n("Sub", [f"{value}_up", f"{value}_even"], f"{value}_odd"),
        n("Sub", [f"{value}_up", f"{value}_odd"], f"{value}_down"),
        n("Where", [f"{value}_tie", f"{value}_down", f"{value}_up"], rounded),
    ]


def _activation_shapes(model: onnx.ModelProto, names: list[str]) -> dict[str, tuple[int, ...]]:
    import onnxruntime

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    present = {output.name for output in probe.graph.output}
    probe.graph.output.extend(helper.make_empty_tensor_value_info(name) for name in set(names) - present)
    session = onnxruntime.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {}
    for tensor in session.get_inputs():
        if not all(isinstance(dim, int) for dim in tensor.shape):
            raise ValueError(f"input {tensor.name} has no fixed shape: {tensor.shape}")
        feeds[tensor.name] = np.zeros(tensor.shape, np.float32)
    return {name: value.shape for name, value in zip(names, session.run(names, feeds))}


def _attribute(node, name: str, default=KeyError):
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    if default is KeyError:
        raise ValueError(f"{node.name} has no attribute {name}")
    return default


def _set_attribute(node, name: str, value) -> None:
    kept = [attribute for attribute in node.attribute if attribute.name != name]
    del node.attribute[:]
    node.attribute.extend([*kept, helper.make_attribute(name, value)])


def rewrite_bytes(data: bytes, steps: dict) -> bytes:
    """A serialised graph with the lock's steps ({name: argument}, see STEPS) applied in STEPS' order."""
    model = onnx.load_from_string(data)
    for name, step in STEPS.items():
        if name in steps:
            model = step(model, steps[name]) if name in ("keep_outputs", "quantize_8bit") else step(model)
    return model.SerializeToString()


# The steps by the names the lock gives them, in the order they run.
STEPS = {"keep_outputs": keep_outputs, "floor_pooling": floor_pooling, "float32": float32_compute,
         "quantize_8bit": quantize_8bit, "integer_convs_as_float": integer_convs_as_float}
