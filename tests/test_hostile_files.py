"""Hostile model files (issue 20): each is refused in one line that names the file and the
field, or read at a cost bounded by its size; a bad file never stops the rest of a batch."""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from modellake.tools.formats import base
from modellake.tools.formats.card_fmt import parse_card
from modellake.tools.ingest import ingest, pipeline

# -- builders -------------------------------------------------------------------------------


def _st(path: Path, header: str | dict, data: bytes = b"") -> Path:
    raw = (header if isinstance(header, str) else json.dumps(header)).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _kv_str(key: str, value: str) -> bytes:
    return _s(key) + struct.pack("<I", 8) + _s(value)


def _kv_u32(key: str, value: int) -> bytes:
    return _s(key) + struct.pack("<II", 4, value)


def _tensor(name: str, dims: list[int], offset: int = 0) -> bytes:  # F32
    return _s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims) + struct.pack(
        "<IQ", 0, offset)


def _gguf(path: Path, kvs: list[bytes], tensors: list[bytes], data: bytes) -> Path:
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(tensors)
    path.write_bytes(head + bytes(-len(head) % 32) + data)
    return path


def _tiny_gguf(path: Path, *kvs: bytes) -> Path:
    return _gguf(path, [_kv_str("general.architecture", "llama"), *kvs] if not any(
        k.startswith(_s("general.architecture")) for k in kvs) else list(kvs),
        [_tensor("blk.0.w", [4, 2])], np.arange(8, dtype="<f4").tobytes())


def _good(path: Path) -> Path:
    save_file({"w": np.ones((4, 4), np.float32)}, str(path))
    return path


def _refused(catalog, path: Path, *words: str) -> str:
    """Ingest ``path`` alone: nothing stored, one error on one line naming the file and ``words``."""
    report = ingest(catalog, [path], index=False)
    assert not report.models, report.models
    (err,) = report.errors
    assert str(path) in err.error and "\n" not in err.error, err.error
    for w in words:
        assert w in err.error, err.error
    assert catalog.model_names() == []
    return err.error


# -- finding 2: YAML alias bombs ---------------------------------------------------------------

def _bomb(width: int = 8, depth: int = 6) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, depth)]
    return "---\n" + "\n".join(lines) + f"\ntags: *l{depth - 1}\n---\n# Bomb\n\nThe text survives.\n"


def test_alias_bomb_is_rejected_and_the_card_text_kept(catalog, tmp_path):
    path = tmp_path / "bomb.md"
    path.write_text(_bomb())  # 8**6 = 262,144 leaves from a few hundred bytes
    card = parse_card(path.read_text())
    assert card.metadata_error == "YAML metadata rejected: aliases expand to more than 100000 nodes"
    assert card.metadata == {} and card.tags == []
    report = ingest(catalog, [path], index=False)
    (model,) = report.models
    assert model.card.text.startswith("# Bomb") and model.card.metadata_error == card.metadata_error


def test_recursive_anchor_is_rejected():
    card = parse_card("---\nlicense: mit\nloop: &a [1, *a]\n---\ntext\n")
    assert "recursive anchor" in card.metadata_error and card.text == "text"


def test_front_matter_over_the_size_cap_is_rejected():
    card = parse_card("---\nlicense: mit\nnote: " + "x" * 300_000 + "\n---\ntext\n")
    assert card.metadata_error.startswith("YAML metadata rejected") and card.text == "text"


def test_yaml_values_json_cannot_hold_are_made_safe():
    card = parse_card("---\n2020-01-01: date key\nblob: !!binary aGVsbG8=\nset: !!set {a, b}\n---\n")
    assert card.metadata == {"2020-01-01": "date key", "blob": "<5 bytes of binary data>", "set": ["a", "b"]}
    json.dumps(card.to_dict())  # no default=str needed


# -- finding 3: header counts and sizes have a cost bound ----------------------------------

def test_gguf_declaring_100k_tensors_is_refused_before_reading_them(catalog, tmp_path):
    n = 100_000  # 3.8 MB: the reliability run's file took 36 s
    tensors = [_tensor(f"t{i}", [1], 32 * i) for i in range(n)]
    path = _gguf(tmp_path / "many.gguf", [_kv_str("general.architecture", "llama")], tensors, bytes(32 * n))
    error = _refused(catalog, path, f"header claims {n} tensors", "limits")
    assert f"{base.tensor_limit(path.stat().st_size)} and" in error


def test_safetensors_header_of_megabytes_without_data_is_refused_unread(catalog, tmp_path):
    header = {f"t{i:06d}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(70_000)}
    path = _st(tmp_path / "big.safetensors", header)  # ~5 MB of header, no data
    _refused(catalog, path, "exceeds the 4194304 byte limit for 0 bytes of data")


def test_tensor_limit_grows_with_the_file(catalog, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "MIN_TENSOR_LIMIT", 8)
    monkeypatch.setattr(base, "BYTES_PER_TENSOR", 64)
    tensors = {f"t{i}": np.ones(2, np.float32) for i in range(10)}  # 80 bytes of data
    save_file(tensors, str(tmp_path / "ten.safetensors"))
    _refused(catalog, tmp_path / "ten.safetensors", "declares 10 tensors", "more than the 9 allowed")
    save_file(tensors | {"pad": np.ones(32, np.float32)}, str(tmp_path / "padded.safetensors"))
    assert [m.name for m in ingest(catalog, [tmp_path / "padded.safetensors"], index=False).models] == [
        "padded"]  # 11 tensors in 208 bytes: 8 + 208 // 64 = 11 allowed


def test_overlapping_gguf_tensors_are_refused(catalog, tmp_path):
    path = _gguf(tmp_path / "overlap.gguf", [], [_tensor("a", [8]), _tensor("b", [8], 16)], bytes(64))
    _refused(catalog, path, "tensor 'b' overlaps tensor 'a'")


# -- finding 5: every header field type-checked ----------------------------------------------

@pytest.mark.parametrize("entry,words", [
    ('{"dtype": "F32", "shape": [Infinity], "data_offsets": [0, 4]}', ["shape [Infinity]"]),
    ('{"dtype": "F32", "shape": [-1, -4], "data_offsets": [0, 16]}', ["shape [-1, -4]"]),
    ('{"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}', ["shape [true]"]),
    ('{"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}', ["dtype", "an array, not a string"]),
    ('{"dtype": 5, "shape": [1], "data_offsets": [0, 4]}', ["dtype", "an integer, not a string"]),
    ('{"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}', ["unknown dtype 'Q9'"]),
    ('{"dtype": "F32", "shape": [1], "data_offsets": "0,4"}', ['data_offsets "0,4"']),
    ('{"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4]}', ["data_offsets [0.0, 4]"]),
    ('{"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}', ["data_offsets [0, 4, 8]"]),
], ids=["infinity-shape", "negative-dims", "bool-dim", "dtype-array", "dtype-int", "unknown-dtype",
        "offsets-string", "offsets-float", "offsets-three"])
def test_safetensors_fields_of_the_wrong_type_or_value(catalog, tmp_path, entry, words):
    path = _st(tmp_path / "bad.safetensors", '{"w": ' + entry + "}", bytes(16))
    _refused(catalog, path, "tensor 'w'", *words)


def test_deeply_nested_json_is_refused(catalog, tmp_path):
    deep = "[" * 5000 + "]" * 5000
    path = _st(tmp_path / "deep.safetensors", '{"__metadata__": ' + deep + "}")
    _refused(catalog, path, "nested too deeply")
    model = tmp_path / "deep-config"
    model.mkdir()
    _good(model / "model.safetensors")
    (model / "config.json").write_text('{"model_type": ' + deep + "}")
    _refused(catalog, model, str(model / "config.json"), "nested too deeply")


def test_safetensors_metadata_must_map_strings_to_strings(catalog, tmp_path):
    path = _st(tmp_path / "meta.safetensors", {"__metadata__": {"format": ["pt"]},
                                               "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
               bytes(4))
    _refused(catalog, path, "__metadata__['format'] is an array, not a string")


def test_gguf_scalar_where_an_array_is_expected_is_ignored_by_name(catalog, tmp_path):
    path = _tiny_gguf(tmp_path / "tokens.gguf", _kv_u32("tokenizer.ggml.tokens", 7),
                      _s("general.name") + struct.pack("<IQ", 10, 1 << 63))
    report = ingest(catalog, [path], index=False)
    assert not report.errors, report.errors
    config = report.models[0].config
    assert "vocab_size" not in config and "name" not in config
    assert config["ignored"] == ["general.name is an integer, not a string",
                                 "tokenizer.ggml.tokens is an integer, not an array"]


@pytest.mark.parametrize("value,kind", [
    (struct.pack("<IIQ", 9, 8, 1) + _s("llama"), "an array"),
    (struct.pack("<IQ", 10, (1 << 64) - 1), "an integer"),
], ids=["array", "u64"])
def test_gguf_architecture_of_the_wrong_type_is_refused(catalog, tmp_path, value, kind):
    path = _tiny_gguf(tmp_path / "arch.gguf", _s("general.architecture") + value)
    _refused(catalog, path, f"general.architecture is {kind}, not a string")


# -- a bad file never stops the batch -------------------------------------------------------

def test_bad_file_in_the_middle_of_a_batch(catalog, tmp_path):
    bad = _tiny_gguf(tmp_path / "b-bad.gguf", _s("general.architecture") + struct.pack("<IIQ", 9, 8, 1)
                     + _s("llama"))
    files = [_good(tmp_path / "a-good.safetensors"), bad, _good(tmp_path / "c-good.safetensors")]
    report = ingest(catalog, files, index=False)
    assert [m.name for m in report.models] == ["a-good", "c-good"]
    (err,) = report.errors
    assert err.path == str(bad) and str(bad) in err.error and "general.architecture" in err.error


def test_unexpected_errors_are_reported_and_the_batch_goes_on(catalog, tmp_path, monkeypatch):
    files = [_good(tmp_path / f"{c}.safetensors") for c in "abc"]
    real = pipeline.open_weights

    def flaky(path: Path):
        if path.name == "b.safetensors":
            raise KeyError("a bug in a reader")
        return real(path)

    monkeypatch.setattr(pipeline, "open_weights", flaky)
    report = ingest(catalog, files, index=False)
    assert [m.name for m in report.models] == ["a", "c"]
    (err,) = report.errors
    assert err.path == str(files[1])
    assert err.error == f"{files[1]}: unexpected KeyError: 'a bug in a reader'"


# -- finding 9 (part): messages ---------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_not_a_model_file(catalog):
    report = ingest(catalog, ["/dev/zero"], index=False)
    (err,) = report.errors
    assert "not a regular file or a directory" in err.error and "/dev/zero" in err.error


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/modellake-hostile-marker",))


def test_refused_pickle_names_the_global_in_one_clean_line(catalog, tmp_path):
    marker = Path("/tmp/modellake-hostile-marker")
    marker.unlink(missing_ok=True)
    evil = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": _Payload()}, evil)
    error = _refused(catalog, evil, f"refuses to unpickle global '{os.system.__module__}.system'")
    assert "\x1b" not in error and not marker.exists()
