"""GGUF files (llama.cpp): header parsed by hand (bounded), tensors dequantized in row chunks.

The header is parsed here rather than with ``gguf.GGUFReader``: that reader builds
several numpy views per array element, which for Gemma 3's 262k-token vocabulary
costs about 14 s and 700 MB before a single tensor is read, and has no limits on
what a hostile file may claim. This parser walks the same layout with ``struct``
over an mmap, checks every length against the file size, and keeps only scalars,
short strings and the lengths of big arrays. ``gguf`` still supplies the type
tables and the dequantization kernels.
"""
from __future__ import annotations

import math
import mmap
import struct
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFValueType, LlamaFileType
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

from modellake.store.errors import InvalidModelFileError, UnsupportedFormatError
from modellake.tools.formats.base import (
    FLOAT_DTYPES,
    TensorData,
    TensorEntry,
    WeightFile,
    tensor_limit,
)

MAGIC = b"GGUF"
VERSIONS = (2, 3)
MAX_DIMS = 4                 # GGML_MAX_DIMS
MAX_NAME_BYTES = 1 << 16     # keys and tensor names
MAX_KV = 1 << 16             # metadata key-values in one file (real files: ~50)
MAX_TENSORS = 1 << 20        # tensors in one file, whatever its size (see base.tensor_limit)
MAX_ARRAY_LEN = 1 << 24      # items in one metadata array (largest real vocabularies: ~262k)
KV_STRING_CHARS = 256        # longer strings are kept truncated in metadata["kv"]
KV_ARRAY_ITEMS = 16          # longer arrays are kept as {"array_of", "length"}
CHUNK_BYTES = 16 << 20       # float32 output per dequantization chunk
INT_TYPES = {"I8": "<i1", "I16": "<i2", "I32": "<i4", "I64": "<i8"}
_SCALARS = {GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H",
            GGUFValueType.INT16: "<h", GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i",
            GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?", GGUFValueType.UINT64: "<Q",
            GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d"}
_U32, _U64 = struct.Struct("<I"), struct.Struct("<Q")


class _Corrupt(Exception):
    """A structural problem found while parsing; becomes an InvalidModelFileError."""


@dataclass
class _Tensor:
    """Where one tensor's bytes lie and how to decode them."""

    entry: TensorEntry
    qtype: GGMLQuantizationType
    offset: int  # absolute byte offset in the file
    ne0: int     # elements in the innermost (fastest-varying) dimension


class _Cursor:
    """Bounds-checked little-endian reads from a buffer."""

    def __init__(self, buf: mmap.mmap, pos: int = 0) -> None:
        self.buf, self.pos, self.size = buf, pos, len(buf)

    def take(self, n: int) -> int:
        """Advance past ``n`` bytes; return where they start."""
        start = self.pos
        if n < 0 or start + n > self.size:
            raise _Corrupt(f"header runs past the end of the file at byte {start} "
                           f"(needs {n} more bytes, the file has {self.size})")
        self.pos = start + n
        return start

    def u32(self) -> int:
        return _U32.unpack_from(self.buf, self.take(4))[0]

    def u64(self) -> int:
        return _U64.unpack_from(self.buf, self.take(8))[0]

    def scalar(self, fmt: str) -> Any:
        return struct.unpack_from(fmt, self.buf, self.take(struct.calcsize(fmt)))[0]

    def string(self, max_chars: int | None = None) -> str:
        """A length-prefixed UTF-8 string, truncated to ``max_chars`` when given."""
        n = self.u64()
        start = self.take(n)
        if max_chars is None:
            if n > MAX_NAME_BYTES:
                raise _Corrupt(f"name of {n} bytes at byte {start} (limit {MAX_NAME_BYTES})")
            return self.buf[start:start + n].decode("utf-8", errors="replace")
        text = self.buf[start:start + min(n, 4 * max_chars)].decode("utf-8", errors="replace")
        return text if len(text) <= max_chars and n <= 4 * max_chars else (
            f"{text[:max_chars]}... ({n} bytes)")

    def skip_string(self) -> None:
        self.take(self.u64())


def _value(cur: _Cursor, vtype: int, nested: bool = False) -> Any:
    """One metadata value; big arrays are skipped and described by type and length."""
    if vtype in _SCALARS:
        return cur.scalar(_SCALARS[vtype])
    if vtype == GGUFValueType.STRING:
        return cur.string(KV_STRING_CHARS)
    if vtype != GGUFValueType.ARRAY:
        raise _Corrupt(f"unknown metadata value type {vtype}")
    if nested:
        raise _Corrupt("nested metadata arrays are not supported")
    itype, n = cur.u32(), cur.u64()
    if n > MAX_ARRAY_LEN:
        raise _Corrupt(f"metadata array of {n} items (limit {MAX_ARRAY_LEN})")
    if n <= KV_ARRAY_ITEMS:
        return [_value(cur, itype, nested=True) for _ in range(n)]
    if itype in _SCALARS:
        cur.take(n * struct.calcsize(_SCALARS[itype]))
    elif itype == GGUFValueType.STRING:
        for _ in range(n):
            cur.skip_string()
    else:
        raise _Corrupt(f"metadata array of unsupported item type {itype}")
    return {"array_of": GGUFValueType(itype).name, "length": n}


def _tensor_info(cur: _Cursor) -> tuple[str, list[int], GGMLQuantizationType, int]:
    """Name, GGUF dims (innermost first), type and relative offset of one tensor."""
    name = cur.string()
    n_dims = cur.u32()
    if not 1 <= n_dims <= MAX_DIMS:
        raise _Corrupt(f"tensor {name!r} has {n_dims} dimensions (1 to {MAX_DIMS} allowed)")
    dims = [cur.u64() for _ in range(n_dims)]
    raw_type = cur.u32()
    try:
        qtype = GGMLQuantizationType(raw_type)
    except ValueError:
        raise _Corrupt(f"tensor {name!r} has unknown type {raw_type}") from None
    return name, dims, qtype, cur.u64()


def _make_tensor(name: str, dims: list[int], qtype: GGMLQuantizationType, offset: int,
                 file_size: int) -> _Tensor:
    """Validate one tensor's declared size and place against the file."""
    block, type_size = GGML_QUANT_SIZES[qtype]
    numel = math.prod(dims)
    if dims[0] % block or numel >= 1 << 62:
        raise _Corrupt(f"tensor {name!r} has impossible shape {dims} for type {qtype.name}")
    nbytes = numel // block * type_size
    if offset + nbytes > file_size:
        raise _Corrupt(f"tensor {name!r} data ends at byte {offset + nbytes} "
                       f"but the file has {file_size} bytes")
    entry = TensorEntry(name, dims[::-1], qtype.name, nbytes, qtype.name not in INT_TYPES)
    return _Tensor(entry, qtype, offset, dims[0])


def _parse(buf: mmap.mmap) -> tuple[int, dict[str, Any], list[_Tensor]]:
    """Parse a whole header: (version, key-values, tensors)."""
    cur = _Cursor(buf, 4)
    version = cur.u32()
    if version & 0xFFFF == 0 and version:
        raise _Corrupt("big-endian GGUF files are not supported")
    if version not in VERSIONS:
        raise _Corrupt(f"unsupported GGUF version {version}")
    n_tensors, n_kv = cur.u64(), cur.u64()
    max_tensors = min(MAX_TENSORS, tensor_limit(len(buf)))
    if n_tensors > max_tensors or n_kv > MAX_KV:
        raise _Corrupt(f"header claims {n_tensors} tensors and {n_kv} key-values (limits "
                       f"{max_tensors} and {MAX_KV} for a file of {len(buf)} bytes)")
    kv: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        if key in kv:
            raise _Corrupt(f"duplicate metadata key {key!r}")
        kv[key] = _value(cur, cur.u32())
    infos = [_tensor_info(cur) for _ in range(n_tensors)]
    align = kv.get("general.alignment", 32)
    if type(align) is not int or align <= 0 or align & (align - 1):
        raise _Corrupt(f"invalid general.alignment {align!r} (a power of two is needed)")
    data_start = -(-cur.pos // align) * align
    if len({name for name, *_ in infos}) != len(infos):
        raise _Corrupt("duplicate tensor names")
    tensors = [_make_tensor(name, dims, qtype, data_start + off, len(buf))
               for name, dims, qtype, off in infos]
    _check_overlap(tensors)
    return version, kv, tensors


def _check_overlap(tensors: list[_Tensor]) -> None:
    """No two tensors share bytes (as llama.cpp requires): nothing is read twice."""
    end, prev = 0, None
    for t in sorted((t for t in tensors if t.entry.nbytes), key=lambda t: t.offset):
        if t.offset < end:
            raise _Corrupt(f"tensor {t.entry.name!r} overlaps tensor {prev!r} "
                           f"(its data starts at byte {t.offset}, before byte {end})")
        end, prev = t.offset + t.entry.nbytes, t.entry.name


def _map(path: Path) -> mmap.mmap:
    """Check the magic bytes, then map the file read-only."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
            if not magic:
                raise InvalidModelFileError(path, "empty file, not a GGUF model")
            if magic != MAGIC:
                raise InvalidModelFileError(path, f"not a GGUF file (bad magic {magic!r})")
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise InvalidModelFileError(path, f"cannot read file: {exc.strerror or exc}") from exc


def _quant_label(file_type: str | int | None, tensors: list[_Tensor]) -> str | None:
    """Short label (Q4_K_M...): from the file type, else the type covering most elements."""
    if isinstance(file_type, str) and file_type != "GUESSED":
        return file_type.removeprefix("MOSTLY_").removeprefix("ALL_")
    elems: Counter[str] = Counter()
    for t in tensors:
        elems[t.entry.dtype] += math.prod(t.entry.shape)
    quant = {k: v for k, v in elems.items() if k not in FLOAT_DTYPES and k not in INT_TYPES}
    pool = quant or {k: v for k, v in elems.items() if k not in INT_TYPES}
    return max(pool, key=pool.__getitem__) if pool else None


# summary fields are taken only from values of the type the GGUF spec gives them; a value of
# another type is left out of the summary (and named in its "ignored" list)
_ARCH_INTS = ("context_length", "embedding_length", "block_count", "vocab_size")


def _typed(kv: dict[str, Any], key: str, kind: type, ignored: list[str]) -> Any:
    """``kv[key]`` if it has type ``kind`` (bools are not ints), else None (noted in ``ignored``)."""
    value = kv.get(key)
    if value is None or (type(value) is kind if kind is int else isinstance(value, kind)):
        return value
    ignored.append(f"{key} is {_kind(value)}, not {'a string' if kind is str else 'an integer'}")
    return None


def _kind(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return "an array"
    return {str: "a string", bool: "a boolean", float: "a float"}.get(type(value), "an integer")


def _architecture(kv: dict[str, Any]) -> str | None:
    """general.architecture, which names the other keys: a string or nothing."""
    arch = kv.get("general.architecture")
    if arch is not None and not isinstance(arch, str):
        raise _Corrupt(f"general.architecture is {_kind(arch)}, not a string")
    return arch


def _vocab_size(tokens: Any, ignored: list[str]) -> int | None:
    if tokens is None:
        return None
    if isinstance(tokens, dict):
        return tokens["length"]
    if isinstance(tokens, list):
        return len(tokens)
    ignored.append(f"tokenizer.ggml.tokens is {_kind(tokens)}, not an array")
    return None


def _metadata(version: int, kv: dict[str, Any], tensors: list[_Tensor]) -> dict[str, Any]:
    """Summary metadata plus every key-value (big arrays as their length).

    Summary fields come only from values of the types the GGUF spec gives them.
    """
    ignored: list[str] = []
    arch = _architecture(kv)
    ft = _typed(kv, "general.file_type", int, ignored)
    try:
        file_type = LlamaFileType(ft).name if ft is not None else None
    except ValueError:
        file_type = ft
    meta: dict[str, Any] = {"gguf_version": version, "architecture": arch,
                            "name": _typed(kv, "general.name", str, ignored), "file_type": file_type,
                            "quantization": _quant_label(file_type, tensors),
                            "tensor_types": dict(Counter(t.entry.dtype for t in tensors))}
    for key in _ARCH_INTS if arch else ():
        meta[key] = _typed(kv, f"{arch}.{key}", int, ignored)
    vocab = _vocab_size(kv.get("tokenizer.ggml.tokens"), ignored)
    if vocab is not None:
        meta["vocab_size"] = vocab
    meta["ignored"] = ignored or None
    meta["kv"] = kv
    return {k: v for k, v in meta.items() if v is not None}


def open_gguf(path: Path) -> WeightFile:
    """Open an untrusted GGUF file: validated tensor entries and metadata, nothing dequantized."""
    path = Path(path)
    buf = _map(path)
    try:
        version, kv, tensors = _parse(buf)
        meta = _metadata(version, kv, tensors)
    except _Corrupt as exc:
        raise InvalidModelFileError(path, f"truncated or corrupt GGUF file ({exc})") from None
    finally:
        size = len(buf)
        buf.close()
    return _GGUFFile(path, [t.entry for t in tensors], meta, tensors=tensors, size=size)


def _row_elems(ne0: int, block: int) -> int:
    """Elements per dequantization row: a whole tensor row, or whole blocks of a huge one."""
    if ne0 * 4 <= CHUNK_BYTES:
        return ne0
    max_blocks = 1 << max(0, (CHUNK_BYTES // (4 * block)).bit_length() - 1)
    return block * math.gcd(ne0 // block, max_blocks)


def _values(t: _Tensor, data: np.ndarray) -> np.ndarray:
    """Flat values of one tensor: float32 (dequantized in chunks) or its integers."""
    name = t.entry.dtype
    if name in INT_TYPES:
        return data.view(INT_TYPES[name])
    if name == "F32":
        return data.view("<f4")
    if name == "F64":
        return data.view("<f8").astype(np.float32)
    out = np.empty(math.prod(t.entry.shape), dtype=np.float32)
    if out.size == 0:
        return out
    block, type_size = GGML_QUANT_SIZES[t.qtype]
    row = _row_elems(t.ne0, block)
    rows = data.reshape(-1, row // block * type_size)
    step = max(1, CHUNK_BYTES // (4 * row))
    for s in range(0, rows.shape[0], step):
        out[s * row:(s + step) * row] = dequantize(rows[s:s + step], t.qtype).reshape(-1)
    return out


def _release(buf: mmap.mmap, start: int, length: int) -> None:
    """Drop a read tensor's file pages from this process's resident set (best effort)."""
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None or length <= 0:
        return
    lo = start - start % mmap.PAGESIZE
    try:
        buf.madvise(advice, lo, start + length - lo)
    except (OSError, ValueError):
        pass


@dataclass
class _GGUFFile(WeightFile):
    tensors: list[_Tensor] = field(default_factory=list, repr=False)
    size: int = 0

    def read(self, names: Collection[str] | None = None) -> Iterator[TensorData]:
        """Stream tensors in file order (only ``names`` when given), dequantized to float32."""
        buf = _map(self.path)
        if len(buf) != self.size:
            raise InvalidModelFileError(self.path, "GGUF file changed size since it was opened")
        for t in self.tensors:
            if names is not None and t.entry.name not in names:
                continue
            data = np.frombuffer(buf, dtype=np.uint8, count=t.entry.nbytes, offset=t.offset)
            yield TensorData(t.entry, self._decode(t, data), memoryview(data))
            _release(buf, t.offset, t.entry.nbytes)

    def _decode(self, t: _Tensor, data: np.ndarray) -> np.ndarray:
        """Dequantize one tensor, turning library failures into InvalidModelFileError."""
        try:
            with np.errstate(all="ignore"):  # NaN/inf scales of a corrupt tensor: NaN statistics
                return _values(t, data)
        except NotImplementedError:
            raise UnsupportedFormatError(self.path, f"tensor {t.entry.name!r} has GGML type "
                                         f"{t.entry.dtype}, which gguf cannot dequantize") from None
        except Exception as exc:  # numpy errors on a corrupt tensor
            raise InvalidModelFileError(self.path, f"cannot decode tensor {t.entry.name!r} "
                                        f"({t.entry.dtype}): {exc}") from exc
