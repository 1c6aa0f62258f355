"""Walking a composed YAML document, to point a validation error at the line it comes from
(the pipeline's rules file and the CLI's load profiles)."""

from __future__ import annotations

import yaml


def child_node(node: yaml.Node, part: int | str) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of mapping key `part`, or (item, item) of sequence index `part`; None if
    there is none."""
    if isinstance(node, yaml.MappingNode):
        return next(((key, value) for key, value in node.value if str(key.value) == str(part)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], node.value[part]
    return None
