"""Build-time rewrites of the model graphs, with the onnx package.

build.py runs this in .venv; it is not part of the shipped package.

    python -m model_graphs keep-outputs SOURCE TARGET NAME [NAME ...]
"""
from __future__ import annotations

import sys

import onnx


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


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[0] != "keep-outputs":
        print(__doc__, file=sys.stderr)
        return 2
    source, target, names = argv[1], argv[2], argv[3:]
    onnx.save(keep_outputs(onnx.load(source), names), target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
