"""The same sentence-transformers model run by onnxruntime: no torch at question time.

Importing torch, transformers and sentence-transformers takes seconds before the first
question; onnxruntime and tokenizers take a fraction of one. The ONNX file is exported once
from the packaged model by ``torch.onnx.export`` (no download), checked against torch on probe
texts, and kept in the cache folder for every later process. ``sentence-transformers[onnx]``
cannot be used: its ``optimum`` dependency needs transformers < 5.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .embeddings import TransformerEmbedder
from .types import TokenVectors

if TYPE_CHECKING:
    from .settings import Settings

EXPORT_VERSION = "1"  # bump when the export changes, so old files are not reused
OPSET = 17
MAX_EXPORT_DIFF = 1e-4  # largest token-vector difference to torch an export may show
MIN_INT8_COSINE = 0.95  # least cosine of a probe text's int8 and fp32 vectors: a guard against a broken file (a good one gives 0.98-0.99)
INT8_VERSION = "1"  # bump when the quantisation changes (weight type, per channel, ...): another file and another name
INT8_SUFFIX = f"-int8.{INT8_VERSION}"
PROBE_TEXTS = [
    "What share of Ukraine's territory do Russian forces control?",
    "Russian forces now control about 20 percent of Ukraine’s territory.",
    "A short one.",
]


class OnnxEmbedder(TransformerEmbedder):
    """Mean-pooled, normalised vectors from the model's ONNX export, batched like sentence-transformers.

    With ``int8``, from that export with its weights quantised to 8 bits (onnxruntime's dynamic
    quantisation, done locally): other vectors, so another name, and an index of its own.
    """

    def __init__(self, model_path: str | None = None, batch_size: int = 32, cache_dir: Path | None = None, int8: bool = False):
        super().__init__(model_path, batch_size)
        self.cache_dir = cache_dir or Path.home() / ".cache" / "grounded-assistant"
        self.int8 = int8
        self._fp32_name = self.name
        if int8:
            self.name = f"{self.name}{INT8_SUFFIX}"

    @classmethod
    def from_settings(cls, settings: Settings) -> OnnxEmbedder:
        return cls(settings.embedding.model, settings.embedding.batch_size, settings.path(settings.cache_dir))

    @classmethod
    def int8_from_settings(cls, settings: Settings) -> OnnxEmbedder:
        return cls(settings.embedding.model, settings.embedding.batch_size, settings.path(settings.cache_dir), int8=True)

    @property
    def fp32_path(self) -> Path:
        """Where this model's export lives: keyed by the model files' names, sizes and times."""
        folder = Path(self.model_path)
        stats = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file())
        key = hashlib.sha256(json.dumps([str(folder.resolve()), stats, EXPORT_VERSION, OPSET]).encode()).hexdigest()[:16]
        return self.cache_dir / "onnx" / f"{self._fp32_name}-{key}.onnx"

    @property
    def onnx_path(self) -> Path:
        """The file this embedder runs."""
        fp32 = self.fp32_path
        return fp32.with_name(f"{fp32.stem}{INT8_SUFFIX}.onnx") if self.int8 else fp32

    def _load(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(self.model_path)
        self.max_seq_length = _max_seq_length(folder)
        tokenizer_file = folder / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise RuntimeError(f"{folder} has no tokenizer.json; use ASSISTANT_EMBEDDING_BACKEND=torch for this model")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(self.max_seq_length)
        self._tokenizer.no_padding()
        if not self.fp32_path.is_file():
            export(self.model_path, self.fp32_path)
        path = self.onnx_path
        if self.int8 and not path.is_file():
            quantize(self.fp32_path, path, tokenizer_file)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Idle threads sleep instead of spinning: on a machine shared with other processes (app
        # instances, a Chroma server) spinning made a question 1.6x slower, and batches no faster.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def _run(self, texts: list[str]) -> tuple[list, np.ndarray, np.ndarray]:
        """Token vectors of a batch, padded to its longest text, and the attention mask."""
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        (hidden,) = self._session.run(None, _feed(ids, mask, self._inputs))
        return encodings, hidden, mask

    def _batches(self, texts: list[str]):
        """Batches of similar length (as sentence-transformers does: less padding), with each text's index."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            yield rows, [texts[i] for i in rows]

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors: list[np.ndarray] = [np.empty(0)] * len(texts)  # every row is filled below
        for rows, batch in self._batches(texts):
            _, hidden, mask = self._run(batch)
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            for row, vector in zip(rows, pooled):
                vectors[row] = vector
        return np.stack(vectors)

    def _token_vectors(self, texts: list[str]) -> list[TokenVectors]:
        out: dict[int, TokenVectors] = {}
        for rows, batch in self._batches(texts):
            encodings, hidden, _ = self._run(batch)
            for row, e, vectors in zip(rows, encodings, hidden):
                out[row] = TokenVectors(list(e.offsets), vectors[: len(e.ids)])
        return [out[row] for row in range(len(texts))]


def _feed(ids: np.ndarray, mask: np.ndarray, inputs: set[str]) -> dict[str, np.ndarray]:
    """A batch's token ids and attention mask (and all-zero token types), as far as the export takes them."""
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return {name: value for name, value in feed.items() if name in inputs}


def _max_seq_length(folder: Path) -> int:
    """The model's token limit and a check that it is mean-pooled (what this backend computes)."""
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", False):
        raise RuntimeError(f"{folder} is not mean-pooled; use ASSISTANT_EMBEDDING_BACKEND=torch for this model")
    config = folder / "sentence_bert_config.json"
    return int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.is_file() else 256


def export(model_path: str, dest: Path) -> None:
    """Export the model's transformer to ONNX at ``dest`` (atomically, one process at a time),
    after checking that it gives torch's token vectors on the probe texts."""
    from filelock import FileLock

    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if dest.is_file():  # another process exported it while this one waited
            return
        import onnxruntime
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        transformer = model[0].auto_model.eval()  # type: ignore[union-attr]  # the first module is the Transformer

        class LastHiddenState(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = transformer

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

        names = ["input_ids", "attention_mask", "token_type_ids"]
        probes = model.tokenizer(PROBE_TEXTS, padding=True, return_tensors="pt")
        with torch.no_grad():  # before exporting: tracing leaves the torch model computing otherwise
            want = transformer(**probes).last_hidden_state.numpy()
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    LastHiddenState(), tuple(probes[n] for n in names), str(tmp), dynamo=False, opset_version=OPSET,
                    input_names=names, output_names=["last_hidden_state"],
                    dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                )
            session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
            (got,) = session.run(None, {n: probes[n].numpy().astype(np.int64) for n in names})
            mask = probes["attention_mask"].numpy().astype(bool)
            diff = float(np.abs(got - want)[mask].max())
            if diff > MAX_EXPORT_DIFF:
                raise RuntimeError(f"the ONNX export of {model_path} differs from torch by {diff:.2g}; use ASSISTANT_EMBEDDING_BACKEND=torch")
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)


def quantize(fp32: Path, dest: Path, tokenizer_file: Path) -> None:
    """Quantise the export's weights to int8 at ``dest`` (atomically, one process at a time),
    after checking that its sentence vectors of the probe texts stay close to the export's."""
    from filelock import FileLock

    with FileLock(str(dest) + ".lock"):
        if dest.is_file():
            return
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_dynamic logs advice about pre-processing to the root logger
        try:
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
            cosines = _probe_cosines(onnxruntime, tmp, fp32, tokenizer_file)
            if cosines.min() < MIN_INT8_COSINE:
                raise RuntimeError(f"the int8 model's vectors differ from the fp32 export's (cosine {cosines.min():.3f}); use ASSISTANT_EMBEDDING_BACKEND=onnx")
            os.replace(tmp, dest)
        finally:
            root.setLevel(level)
            tmp.unlink(missing_ok=True)


def _probe_cosines(onnxruntime, quantized: Path, fp32: Path, tokenizer_file: Path) -> np.ndarray:
    """Cosine between the two models' mean-pooled vectors of each probe text."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    pooled = []
    for model in (quantized, fp32):
        session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        inputs = {i.name for i in session.get_inputs()}
        vectors = []
        for text in PROBE_TEXTS:  # one text a run: no padding, so the mean over its tokens is the pooled vector
            ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
            (hidden,) = session.run(None, _feed(ids, np.ones_like(ids), inputs))
            vector = hidden[0].mean(axis=0)
            vectors.append(vector / np.linalg.norm(vector))
        pooled.append(np.stack(vectors))
    return (pooled[0] * pooled[1]).sum(axis=1)
