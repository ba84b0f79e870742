"""The build-time graph rewrite (py/model_graphs.py): what it keeps, and that the shipped models still agree."""
import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

import build
from bgremove.models import MODELS
from bgremove.postprocess import mask_from_output
from bgremove.preprocess import model_input
from model_graphs import keep_outputs
from conftest import rgba_of


def session(model_bytes: bytes) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])


def test_keeps_only_what_the_named_output_needs():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [2]) for name in ("output", "side")]
    bias = helper.make_tensor("bias", TensorProto.FLOAT, [2], [1.0, 2.0])
    # Listed out of order on purpose, as some exported graphs are: the rewrite also sorts them.
    nodes = [helper.make_node("Add", ["relu", "bias"], ["side"]),
             helper.make_node("Relu", ["x"], ["relu"]),
             helper.make_node("Neg", ["relu"], ["output"])]
    graph = helper.make_graph(nodes, "g", [x], outputs, initializer=[bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    pruned = keep_outputs(model, ["output"])
    assert [o.name for o in pruned.graph.output] == ["output"]
    assert [n.op_type for n in pruned.graph.node] == ["Relu", "Neg"]
    assert not pruned.graph.initializer
    value = np.array([-1.0, 3.0], np.float32)
    assert session(pruned.SerializeToString()).run(None, {"x": value})[0].tolist() == [0.0, -3.0]
    with pytest.raises(ValueError, match="no output"):
        keep_outputs(model, ["nope"])


@pytest.mark.parametrize("model_id", [m for m, spec in build.LOCK["models"].items() if "rewrite" in spec])
def test_the_rewritten_model_gives_the_same_mask(model_id, images):
    """Same photo, original graph against the shipped rewrite, native onnxruntime.

    Measured on this photo: isnet-small identical; isnet-medium outputs within 1.8e-4, and 199
    of 1,048,576 mask pixels (0.02%) one level apart, where onnxruntime fuses the nodes that no
    longer feed a side output differently.
    """
    spec = MODELS[model_id]
    entry = build.LOCK["models"][model_id]
    original = session(build.model_bytes(entry))
    rewritten = session((build.VENDOR / "models" / entry["file"]).read_bytes())
    assert [o.name for o in rewritten.get_outputs()] == ["output"] and len(original.get_outputs()) == 12
    tensor = model_input(rgba_of((images / "astronaut.png").read_bytes()), spec).tensor
    before = original.run(["output"], {"input": tensor})[0]
    after = rewritten.run(["output"], {"input": tensor})[0]
    assert np.abs(before - after).max() < 1e-3
    masks = [mask_from_output(out, spec).astype(int) for out in (before, after)]
    differs = masks[0] != masks[1]
    assert np.abs(masks[0] - masks[1]).max() <= 1 and differs.mean() < 1e-3, (differs.sum(),)
