"""OCR engines behind one protocol, loaded once per process.

Both engines run PP-OCR models on onnxruntime from files already on disk: the default reads
the ONNX models shipped inside the pinned `rapidocr` wheel; the PaddleOCR backend (extra
`paddle`) reads PaddleX-style model folders (`inference.onnx` + `inference.yml`), which
`write_paddle_model_dirs` can assemble from the same shipped files. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import numpy as np
from numpy.typing import NDArray

from ocr.errors import EngineFailed, EngineUnavailable
from ocr.receipt import Quad, TextLine

EngineName = Literal["rapidocr", "paddle"]
ENGINE_NAMES: tuple[EngineName, ...] = ("rapidocr", "paddle")

RAPIDOCR_DET_MODEL = "PP-OCRv6_det_small.onnx"
RAPIDOCR_REC_MODEL = "PP-OCRv6_rec_small.onnx"
PADDLE_DET_MODEL_NAME = "PP-OCRv6_small_det"
DET_MAX_SIDE = 1024
# Recognition batch: wider batches save little time but raise peak memory by ~150 MB.
REC_BATCH = 2
PADDLE_REC_MODEL_NAME = "PP-OCRv6_small_rec"


class OcrEngine(Protocol):
    """Reads text boxes from an upright RGB image (H x W x 3, uint8)."""

    @property
    def name(self) -> str: ...

    def read(self, image: NDArray[np.uint8]) -> list[TextLine]: ...


def _quad(points: Any) -> Quad:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] != 4:
        xs, ys = pts[:, 0], pts[:, 1]
        x0, x1, y0, y1 = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
        return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    p = [(round(float(x), 1), round(float(y), 1)) for x, y in pts.tolist()]
    return (p[0], p[1], p[2], p[3])


def rapidocr_model_dir() -> Path:
    """Folder of the ONNX models shipped inside the installed `rapidocr` wheel."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise EngineUnavailable("the rapidocr package is not installed")
    return Path(spec.origin).parent / "models"


def _shipped_model(name: str) -> Path:
    path = rapidocr_model_dir() / name
    if not path.is_file():
        raise EngineUnavailable(
            f"{name} is not shipped in the installed rapidocr wheel; install the pinned version"
        )
    return path


class RapidOcrEngine:
    """PP-OCRv6 small detection + recognition from the `rapidocr` wheel, on onnxruntime."""

    def __init__(
        self,
        *,
        threads: int | None = None,
        det_max_side: int = DET_MAX_SIDE,
        rec_batch: int = REC_BATCH,
    ) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - rapidocr is a hard dependency
            raise EngineUnavailable(f"rapidocr cannot be imported: {exc}") from exc
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": False,  # receipts are photographed upright; saves ~15 %
            "Det.model_path": str(_shipped_model(RAPIDOCR_DET_MODEL)),
            "Rec.model_path": str(_shipped_model(RAPIDOCR_REC_MODEL)),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads or -1,
            # Detection on at most ~1000 px: enough for receipt text, half the cost of 2k.
            "Det.limit_type": "max",
            "Det.limit_side_len": det_max_side,
            "Rec.rec_batch_num": rec_batch,
        }
        self._ocr = RapidOCR(params=params)
        self._lock = threading.Lock()  # one inference at a time per session

    @property
    def name(self) -> str:
        return "rapidocr"

    def read(self, image: NDArray[np.uint8]) -> list[TextLine]:
        from rapidocr.utils.process_img import get_rotate_crop_image

        bgr = np.ascontiguousarray(image[:, :, ::-1])
        try:
            with self._lock:
                # Detection and recognition run separately so that rule lines ("-----",
                # "=====") are dropped before recognition, where their width costs most.
                det: Any = self._ocr(bgr, use_det=True, use_cls=False, use_rec=False)
                boxes: Any = getattr(det, "boxes", None)
                if boxes is None or len(boxes) == 0:
                    return []
                kept: list[Any] = []
                crops: list[NDArray[np.uint8]] = []
                for box in boxes:
                    crop: NDArray[np.uint8] = get_rotate_crop_image(
                        bgr, np.array(box, dtype=np.float32)
                    )
                    if crop.size and not is_rule_line(crop):
                        kept.append(box)
                        crops.append(crop)
                if not crops:
                    return []
                rec: Any = self._ocr.recognize_txt(crops)
        except Exception as exc:
            raise EngineFailed(f"rapidocr failed: {exc}") from exc
        texts: Any = rec.txts or ()
        scores: Any = rec.scores or ()
        return [
            TextLine(text=str(t), box=_quad(b), score=round(float(s), 4))
            for b, t, s in zip(kept, texts, scores, strict=False)
            if str(t).strip() and float(s) >= MIN_TEXT_SCORE
        ]


MIN_TEXT_SCORE = 0.5


def is_rule_line(crop: NDArray[np.uint8]) -> bool:
    """True for a long box whose ink is a thin band: a printed "-----" / "=====" rule.

    Letters (Latin or Chinese) fill at least half of their box's height; rules made of
    dashes, equals signs, dots or stars fill much less, and cost the most to recognise.
    """
    height, width = crop.shape[:2]
    if height == 0 or width < 15 * height:
        return False
    grey = crop.mean(axis=2) if crop.ndim == 3 else crop.astype(np.float64)
    threshold = (float(grey.max()) + float(grey.min())) / 2
    ink = grey < threshold
    # Share of each pixel row that is ink: text rows have 10-40 % across most of the box
    # height; a rule has one or two bands, and a rule clipped into a text box's edge does
    # not hide the text rows below it.
    row_ink = ink.mean(axis=1)
    inked_rows = int((row_ink > 0.08).sum())
    return inked_rows < 0.25 * height


_DET_YML = """\
Global:
  model_name: {name}
PreProcess:
  transform_ops:
  - DecodeImage:
      channel_first: false
      img_mode: BGR
  - DetLabelEncode: null
  - DetResizeForTest:
      limit_side_len: 736
      limit_type: min
      max_side_limit: 4000
  - NormalizeImage:
      mean: [0.485, 0.456, 0.406]
      order: hwc
      scale: 1./255.
      std: [0.229, 0.224, 0.225]
  - ToCHWImage: null
  - KeepKeys:
      keep_keys: [image, shape, polys, ignore_tags]
PostProcess:
  name: DBPostProcess
  thresh: 0.3
  box_thresh: 0.6
  max_candidates: 1000
  unclip_ratio: 1.5
"""

_REC_YML = """\
Global:
  model_name: {name}
PreProcess:
  transform_ops:
  - DecodeImage:
      channel_first: false
      img_mode: BGR
  - MultiLabelEncode:
      gtc_encode: NRTRLabelEncode
  - RecResizeImg:
      image_shape: [3, 48, 320]
  - KeepKeys:
      keep_keys: [image, label_ctc, label_gtc, length, valid_ratio]
PostProcess:
  name: CTCLabelDecode
  character_dict:
{characters}
"""


def _yaml_string(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars.
    import json

    return json.dumps(value, ensure_ascii=False)


def write_paddle_model_dirs(target: Path) -> tuple[Path, Path]:
    """Assemble PaddleOCR model folders from the ONNX files shipped in `rapidocr`.

    Returns (detection dir, recognition dir), each holding `inference.onnx` and a written
    `inference.yml`; the recognition dictionary is read from the ONNX model's metadata.
    """
    import onnxruntime as ort  # pyright: ignore[reportMissingTypeStubs]

    det_dir = target / PADDLE_DET_MODEL_NAME
    rec_dir = target / PADDLE_REC_MODEL_NAME
    det_src = _shipped_model(RAPIDOCR_DET_MODEL)
    rec_src = _shipped_model(RAPIDOCR_REC_MODEL)
    for folder, src in ((det_dir, det_src), (rec_dir, rec_src)):
        folder.mkdir(parents=True, exist_ok=True)
        onnx = folder / "inference.onnx"
        if not onnx.exists():
            try:
                onnx.symlink_to(src)
            except OSError:
                onnx.write_bytes(src.read_bytes())
    (det_dir / "inference.yml").write_text(
        _DET_YML.format(name=PADDLE_DET_MODEL_NAME), encoding="utf-8"
    )
    session: Any = ort.InferenceSession(str(rec_src), providers=["CPUExecutionProvider"])
    meta = cast(dict[str, str], session.get_modelmeta().custom_metadata_map)
    characters = meta.get("character")
    if not characters:
        raise EngineUnavailable(f"{rec_src.name} carries no character dictionary")
    lines = "\n".join(f"  - {_yaml_string(ch)}" for ch in characters.split("\n"))
    (rec_dir / "inference.yml").write_text(
        _REC_YML.format(name=PADDLE_REC_MODEL_NAME, characters=lines), encoding="utf-8"
    )
    return det_dir, rec_dir


def default_paddle_model_root() -> Path:
    """Where assembled PaddleOCR model folders live unless configured otherwise."""
    configured = os.environ.get("CHANNELHUB_OCR_PADDLE_MODEL_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "channelhub" / "paddle-models"


class PaddleOcrEngine:
    """PaddleOCR's own pipeline over local model folders, fully offline.

    `inference_engine="onnxruntime"` (default) needs folders with `inference.onnx` and
    `inference.yml`; `"paddle"` runs paddlepaddle itself (GPU via `device="gpu:0"`) over
    folders with Paddle inference files, with oneDNN off as PaddleOCR 3 needs on CPU.
    """

    def __init__(
        self,
        *,
        det_model_dir: Path | None = None,
        rec_model_dir: Path | None = None,
        device: str | None = None,
        threads: int | None = None,
        inference_engine: Literal["onnxruntime", "paddle"] = "onnxruntime",
    ) -> None:
        # Never ask a model hosting platform: the folders below are all PaddleOCR gets.
        os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
        if det_model_dir is None or rec_model_dir is None:
            det_model_dir, rec_model_dir = write_paddle_model_dirs(default_paddle_model_root())
        needed = "inference.onnx" if inference_engine == "onnxruntime" else "inference.json"
        for folder in (det_model_dir, rec_model_dir):
            if not (folder / needed).is_file() or not (folder / "inference.yml").is_file():
                raise EngineUnavailable(f"{folder} must hold {needed} and inference.yml")
        try:
            from paddleocr import PaddleOCR  # pyright: ignore[reportMissingTypeStubs]
        except ImportError as exc:
            raise EngineUnavailable(
                "the paddle backend needs the optional extra: pip install 'channelhub[paddle]'"
            ) from exc
        kwargs: dict[str, Any] = {
            "engine": inference_engine,
            "text_detection_model_name": PADDLE_DET_MODEL_NAME,
            "text_detection_model_dir": str(det_model_dir),
            "text_recognition_model_name": PADDLE_REC_MODEL_NAME,
            "text_recognition_model_dir": str(rec_model_dir),
            "use_doc_orientation_classify": False,
            "use_doc_unwarping": False,
            "use_textline_orientation": False,
        }
        if device is not None:
            kwargs["device"] = device
        if threads:
            kwargs["cpu_threads"] = threads
        if inference_engine == "paddle":
            kwargs["enable_mkldnn"] = False
        try:
            self._ocr: Any = cast(Any, PaddleOCR)(**kwargs)
        except Exception as exc:
            raise EngineUnavailable(f"PaddleOCR could not load local models: {exc}") from exc
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "paddle"

    def read(self, image: NDArray[np.uint8]) -> list[TextLine]:
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        try:
            with self._lock:
                results: Any = self._ocr.predict(bgr)
        except Exception as exc:
            raise EngineFailed(f"PaddleOCR failed: {exc}") from exc
        lines: list[TextLine] = []
        for page in results:
            texts: Any = page["rec_texts"]
            scores: Any = page["rec_scores"]
            polys: Any = page["rec_polys"]
            for text, score, poly in zip(texts, scores, polys, strict=False):
                if str(text).strip():
                    lines.append(
                        TextLine(text=str(text), box=_quad(poly), score=round(float(score), 4))
                    )
        return lines


_engine_lock = threading.Lock()
_engines: dict[str, OcrEngine] = {}


def _load_engine(name: EngineName, threads: int | None) -> OcrEngine:
    if name == "rapidocr":
        return RapidOcrEngine(threads=threads)
    if name == "paddle":
        return PaddleOcrEngine(threads=threads)
    raise EngineUnavailable(f"unknown OCR engine {name!r}; choose one of {ENGINE_NAMES}")


def get_engine(name: EngineName = "rapidocr", *, threads: int | None = None) -> OcrEngine:
    """The process-wide engine of that name, loaded on first use and then reused.

    `threads` applies when the engine is first loaded (a process-pool initializer passes
    it); later calls get the loaded engine whatever they pass.
    """
    with _engine_lock:
        engine = _engines.get(name)
        if engine is None:
            engine = _load_engine(name, threads)
            _engines[name] = engine
        return engine


def clear_engines() -> None:
    """Forget loaded engines (tests, or after a worker changes its settings)."""
    with _engine_lock:
        _engines.clear()
