"""Pictures of solutions: PNG images for image inputs, Markdown tables for tabular ones.

For an image-shaped user variable (``var x[28, 28]``, or ``var x[784]`` fed to a
network whose ``input_shape`` is ``(28, 28)``) this writes the solution as a
grayscale PNG (0 = black, 1 = white, scaled by the variable's bounds), upscaled
with nearest-neighbour so single pixels stay visible. When a parameter of the
same size exists (``image``: the "original"), it also writes the original and the
inverted difference (Linkola (2023) fig. 4: changed pixels dark on white, white where
nothing changed) and a strip with the three side by side.

For a small 1-D variable (fewer than ``TABLE_MAX`` entries) it writes a Markdown
table of the attributes instead: index, original, new, change (the WBO master's thesis figs.
4.2-4.4).

Everything here works on plain numpy arrays, so the batch runner can draw the
same pictures from its ``results.jsonl`` lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TABLE_MAX = 50  # a 1-D variable with fewer entries than this is "tabular"
SCALE = 8  # upscaling of single 28 x 28 pictures (-> 224 x 224); see picture_scale()
GRID_SCALE = 4  # upscaling in batch grids
GAP = 4  # pixels between pictures in strips and grids
ORIGINAL_NAMES = ("image", "original", "xbar", "x0", "input", "sample", "img")


@dataclass
class Subject:
    """One user variable to draw: its solution, the original (if any), how to show it."""

    name: str
    value: np.ndarray  # the solution, in the variable's declared shape
    lo: float  # the intensity range mapped to black .. white
    hi: float
    image_shape: tuple[int, ...] | None  # (h, w) or (h, w, 3); None = tabular / neither
    original: np.ndarray | None = None
    original_param: str | None = None
    original_predicted: int | None = None
    predicted: int | None = None
    names: tuple[str, ...] = ()  # the entries' names (``var x[n] names [...]``)

    def attribute(self, j: int) -> str:
        return self.names[j] if j < len(self.names) else str(j)

    @property
    def tabular(self) -> bool:
        return self.image_shape is None and self.value.ndim <= 1 and self.value.size < TABLE_MAX


# ---------------------------------------------------------------- finding subjects


def image_shape(shape: tuple[int, ...], network_shapes: Sequence[tuple[int, ...]] = ()
                ) -> tuple[int, ...] | None:
    """The (h, w) or (h, w, 3) shape to draw a variable of ``shape`` as, or None.

    2-D shapes are images; singleton axes are dropped ([1, 28, 28] -> (28, 28));
    a 3-D shape with 3 channels (first or last) is an RGB image. A 1-D variable
    is an image when a network's 2-D ``input_shape`` has its size, or when its
    size is a perfect square of at least 64 (784 -> 28 x 28).
    """
    dims = tuple(d for d in shape if d != 1)
    if len(dims) == 2:
        return dims
    if len(dims) == 3 and dims[-1] == 3:
        return dims
    if len(dims) == 3 and dims[0] == 3:
        return dims[1:] + (3,)
    if len(dims) == 1:
        n = dims[0]
        for s in network_shapes:
            s = tuple(d for d in s if d != 1)
            if len(s) == 2 and int(np.prod(s)) == n:
                return s
        r = math.isqrt(n)
        if n >= 64 and r * r == n:
            return (r, r)
    return None


def _pick_original(var, params: dict[str, np.ndarray], skip: Sequence[str] = ()
                   ) -> str | None:
    """The parameter that holds the variable's original: same size, not its bounds."""
    cands = []
    for name, value in params.items():
        value = np.asarray(value)
        if name in skip or value.size != var.size or value.size < 2:
            continue
        flat = value.ravel().astype(float)
        if (np.array_equal(flat, np.asarray(var.lower, float).ravel())
                or np.array_equal(flat, np.asarray(var.upper, float).ravel())):
            continue  # the variable's bounds, not an original
        cands.append(name)
    if not cands:
        return None
    for preferred in ORIGINAL_NAMES:
        if preferred in cands:
            return preferred
    return cands[0]


def _intensity_range(var, *arrays: np.ndarray | None) -> tuple[float, float]:
    lo = float(np.min(var.lower)) if np.all(np.isfinite(var.lower)) else None
    hi = float(np.max(var.upper)) if np.all(np.isfinite(var.upper)) else None
    data = np.concatenate([np.asarray(a, float).ravel() for a in arrays if a is not None])
    if lo is None:
        lo = float(data.min()) if data.size else 0.0
    if hi is None:
        hi = float(data.max()) if data.size else 1.0
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def _predicted_for(milp, block, x_user: np.ndarray) -> int | None:
    """The class the (first) network applied to this variable alone predicts for ``x_user``."""
    x = np.zeros(milp.n)
    x[block.cols] = np.asarray(x_user, float).ravel()
    for enc in milp.applications:
        cols = np.unique(enc.input_A.tocoo().col)
        if cols.size and cols.min() >= block.offset and cols.max() < block.offset + block.size:
            out = np.ravel(enc.network.forward(enc.input_A @ x + enc.input_c)[-1])
            if enc.network.kind == "regression" or (out.size == 1
                                                    and enc.network.kind != "classifier"):
                return None  # a value, not a class
            return int(out[0] > 0) if out.size == 1 else int(np.argmax(out))
    return None


def subjects(compiled, result, original: str | None = None,
             with_missing: bool = False) -> list[Subject]:
    """The user variables of a solved model that can be drawn or tabulated.

    ``original`` names the parameter to use as the original (default: the one
    parameter of the variable's size that is not one of its bounds, preferring
    ``image``, ``original``, ``xbar``...). Fixed variables are skipped; so are
    variables without a value unless ``with_missing`` (their ``value`` is then
    NaN, e.g. to tabulate the original of an infeasible instance).
    """
    program = compiled.program
    net_shapes = [n.network.input_shape for n in program.networks.values()]
    out = []
    for name, var in program.variables.items():
        if var.fixed or (name not in result.values and not with_missing):
            continue
        if name in result.values:
            value = np.asarray(result.values[name], float)
        else:
            value = np.full(var.shape, np.nan)
        shape = image_shape(var.shape, net_shapes)
        if shape is None and not (value.ndim <= 1 and value.size < TABLE_MAX):
            continue
        pname = original if original in program.params else None
        if original is None:
            pname = _pick_original(var, program.params)
        orig = None
        if pname is not None and np.asarray(program.params[pname]).size == var.size:
            orig = np.asarray(program.params[pname], float).reshape(value.shape)
        lo, hi = _intensity_range(var, value[np.isfinite(value)], orig)
        sub = Subject(name, value, lo, hi, shape, orig, pname if orig is not None else None,
                      names=var.entry_names)
        try:
            block = compiled.milp.block(name)
        except KeyError:
            block = None
        if block is not None:
            if np.all(np.isfinite(value)):
                sub.predicted = _predicted_for(compiled.milp, block, value)
            if orig is not None:
                sub.original_predicted = _predicted_for(compiled.milp, block, orig)
        out.append(sub)
    return out


# ---------------------------------------------------------------- drawing


def _to_uint8(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    scaled = (np.asarray(a, float) - lo) / (hi - lo)
    return np.round(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)


def to_image(value: np.ndarray, shape: tuple[int, ...], lo: float, hi: float,
             scale: int = SCALE):
    """A PIL image of ``value`` (reshaped to ``shape``), ``lo`` black, ``hi`` white."""
    from PIL import Image

    a = _to_uint8(np.asarray(value).reshape(shape), lo, hi)
    img = Image.fromarray(a, "RGB" if a.ndim == 3 else "L")
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST)


CHANGE_TOL = 1e-6  # changes below this fraction of the range count as "unchanged"


def change_scale(value: np.ndarray, original: np.ndarray, lo: float, hi: float) -> float:
    """The largest change ``|value - original|`` (0 when nothing changed)."""
    d = np.abs(np.asarray(value, float) - np.asarray(original, float))
    top = float(d.max(initial=0.0))
    return top if top > CHANGE_TOL * (hi - lo) else 0.0


def difference_image(value: np.ndarray, original: np.ndarray, shape: tuple[int, ...],
                     lo: float, hi: float, scale: int = SCALE, top: float | None = None):
    """``|value - original|`` inverted: white where nothing changed (below
    ``CHANGE_TOL`` of the range), darker the more a pixel changed; the largest
    change (or ``top``) is black, so small changes (an L-infinity attack) stay visible."""
    from PIL import Image

    d = np.abs(np.asarray(value, float) - np.asarray(original, float)).reshape(shape)
    if d.ndim == 3:
        d = d.max(axis=-1)
    d[d <= CHANGE_TOL * (hi - lo)] = 0.0
    if top is None:
        top = change_scale(value, original, lo, hi)
    a = 255 - _to_uint8(d, 0.0, top) if top > 0 else np.full(d.shape, 255, np.uint8)
    img = Image.fromarray(a, "L")
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST)


def _font():
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=12)
    except TypeError:  # pillow < 10.1
        return ImageFont.load_default()


def _text_height(font) -> int:
    box = font.getbbox("Ag(0)")
    return int(box[3]) + 4


def captioned_row(images: list, captions: list[str], gap: int = GAP):
    """Images side by side on white, each with a caption above it."""
    from PIL import Image, ImageDraw

    font = _font()
    th = _text_height(font) if any(captions) else 0
    widths = [max(i.width, int(font.getlength(c)) + gap if c else 0)
              for i, c in zip(images, captions)]
    width = sum(widths) + gap * (len(images) + 1)
    height = max(i.height for i in images) + th + 2 * gap
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    x = gap
    for img, cap, w in zip(images, captions, widths):
        if cap:
            draw.text((x, gap), cap, fill="black", font=font)
        _paste_framed(canvas, draw, img, (x, gap + th))
        x += w + gap
    return canvas


def _paste_framed(canvas, draw, img, xy: tuple[int, int]) -> None:
    """Paste ``img`` with a light gray frame just outside it (white pictures on white)."""
    x, y = xy
    canvas.paste(img.convert("RGB"), (x, y))
    draw.rectangle((x - 1, y - 1, x + img.width, y + img.height), outline=(170, 170, 170))


def _caption(kind: str, predicted: int | None) -> str:
    return kind if predicted is None else f"{kind} ({predicted})"


def picture_scale(shape: tuple[int, ...]) -> int:
    """Nearest-neighbour upscaling to about 224 pixels: 8x for 28 x 28, at most 16x."""
    return max(1, min(16, (SCALE * 28) // max(shape[0], shape[1])))


def write_images(sub: Subject, out_dir: Path, prefix: str) -> list[Path]:
    """The PNGs of one image subject: original/adversarial/difference/strip, or the image."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shape = sub.image_shape
    assert shape is not None
    k = picture_scale(shape)
    adv = to_image(sub.value, shape, sub.lo, sub.hi, k)
    if sub.original is None:
        path = out_dir / f"{prefix}_image.png"
        adv.save(path)
        return [path]
    orig = to_image(sub.original, shape, sub.lo, sub.hi, k)
    diff = difference_image(sub.value, sub.original, shape, sub.lo, sub.hi, k)
    paths = []
    for kind, img in (("original", orig), ("adversarial", adv), ("difference", diff)):
        paths.append(out_dir / f"{prefix}_{kind}.png")
        img.save(paths[-1])
    top = change_scale(sub.value, sub.original, sub.lo, sub.hi)
    strip = captioned_row([orig, adv, diff],
                          [_caption("original", sub.original_predicted),
                           _caption("adversarial", sub.predicted),
                           f"difference (max {_fmt(top)})" if top else "difference (none)"])
    paths.append(out_dir / f"{prefix}_strip.png")
    strip.save(paths[-1])
    return paths


def _fmt(v: float) -> str:
    v = float(v)
    if abs(v - round(v)) < 1e-6:
        return str(round(v))
    return f"{v:.4g}"


def attribute_table(sub: Subject) -> str:
    """Markdown: attribute, original, new, change (the WBO master's thesis figs. 4.2-4.4)."""
    new = sub.value.ravel()
    lines = []
    if sub.original is None:
        lines += ["| attribute | value |", "|---:|---:|"]
        lines += [f"| {sub.attribute(j)} | {_fmt(v)} |" for j, v in enumerate(new)]
        if sub.predicted is not None:
            lines += ["", f"predicted class: {sub.predicted}"]
        return "\n".join(lines) + "\n"
    orig = sub.original.ravel()
    change = new - orig
    lines += ["| attribute | original | new | change |", "|---:|---:|---:|---:|"]
    for j, (o, v, d) in enumerate(zip(orig, new, change)):
        mark = "" if abs(d) < 1e-6 else f"{'+' if d > 0 else ''}{_fmt(d)}"
        lines.append(f"| {sub.attribute(j)} | {_fmt(o)} | {_fmt(v)} | {mark} |")
    changed = int(np.sum(np.abs(change) >= 1e-6))
    lines += ["",
              (f"original ({', '.join(_fmt(v) for v in orig)}) -> "
               f"new ({', '.join(_fmt(v) for v in new)})"),
              f"{changed} attribute(s) changed, sum of |change| = {_fmt(np.abs(change).sum())}"]
    if sub.original_predicted is not None or sub.predicted is not None:
        lines.append(f"predicted class: {sub.original_predicted} -> {sub.predicted}")
    return "\n".join(lines) + "\n"


def write_pictures(compiled, result, out_dir: str | Path, stem: str | None = None,
                   original: str | None = None,
                   echo: Callable[[str], Any] | None = None) -> list[Path]:
    """Write the pictures (or tables) of a solved model into ``out_dir``.

    Files are named ``<stem>_original.png``, ``_adversarial.png``,
    ``_difference.png`` and ``_strip.png`` (or ``<stem>_image.png`` without an
    original), ``<stem>_table.md`` for tabular variables; with several drawable
    variables the variable's name follows the stem. ``echo`` receives the
    tables and one line per file written. Returns the paths.
    """
    out_dir = Path(out_dir)
    stem = stem or Path(compiled.program.path).stem
    say = echo or (lambda s: None)
    if not result.values:
        say(f"no solution ({result.status}): no pictures written")
        return []
    subs = subjects(compiled, result, original)
    if not subs:
        say("no image-shaped or small tabular variable to draw")
        return []
    paths: list[Path] = []
    for sub in subs:
        prefix = stem if len(subs) == 1 else f"{stem}_{sub.name}"
        if sub.image_shape is not None:
            paths += write_images(sub, out_dir, prefix)
        else:
            out_dir.mkdir(parents=True, exist_ok=True)
            text = attribute_table(sub)
            path = out_dir / f"{prefix}_table.md"
            path.write_text(f"# {sub.name}"
                            + (f" (original: parameter '{sub.original_param}')"
                               if sub.original_param else "") + "\n\n" + text)
            say(text.rstrip("\n"))
            paths.append(path)
    for p in paths:
        say(f"wrote {p}")
    return paths


# ---------------------------------------------------------------- batch grids


@dataclass
class GridRow:
    label: str  # e.g. "3"
    value: np.ndarray | None  # None: no solution (see ``status``)
    original: np.ndarray | None
    predicted: int | None
    original_predicted: int | None
    status: str = "optimal"


def grid_image(rows: list[GridRow], shape: tuple[int, ...], lo: float, hi: float,
               scale: int | None = None, max_rows: int = 25):
    """Rows = instances; columns = original, adversarial, difference (or just the
    image without originals), each captioned with the predicted class. More than
    ``max_rows`` instances wrap into further column groups side by side."""
    from PIL import Image, ImageDraw

    font = _font()
    th = _text_height(font)
    if scale is None:  # 28 x 28 -> 4x; small pictures up to 8x
        scale = max(1, min(8, (GRID_SCALE * 28) // max(shape[0], shape[1])))
    cell_w, cell_h = shape[1] * scale, shape[0] * scale
    # a column is as wide as its widest caption ("adversarial", "pred 7", "max 0.005")
    cell_w = max(cell_w, int(font.getlength("adversarial")) + GAP,
                 int(font.getlength("max 0.0000")) + GAP)
    with_orig = any(r.original is not None for r in rows)
    ncols = 3 if with_orig else 1
    label_w = int(font.getlength("0000")) + 2 * GAP
    group_w = label_w + ncols * (cell_w + GAP) + 3 * GAP
    row_h = cell_h + th + GAP
    groups = max(1, math.ceil(len(rows) / max_rows))
    per_group = math.ceil(len(rows) / groups) if rows else 0
    head_h = th + GAP
    width = groups * group_w
    height = head_h + max(per_group, 1) * row_h + GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    heads = ["original", "adversarial", "difference"] if with_orig else ["solution"]
    for g in range(groups):
        gx = g * group_w
        for c, h in enumerate(heads):
            draw.text((gx + label_w + c * (cell_w + GAP), GAP // 2), h, fill="black", font=font)
        for k, row in enumerate(rows[g * per_group:(g + 1) * per_group]):
            y = head_h + k * row_h
            draw.text((gx + GAP, y + th + cell_h // 2 - th // 2), row.label, fill="black",
                      font=font)
            if row.value is None:
                cells = [(None, row.status)]
            else:
                cells = [(to_image(row.value, shape, lo, hi, scale), f"pred {row.predicted}"
                          if row.predicted is not None else "")]
            if with_orig:
                if row.original is not None and row.value is None:
                    orig = to_image(row.original, shape, lo, hi, scale)
                    op = (f"pred {row.original_predicted}"
                          if row.original_predicted is not None else "")
                    cells = [(orig, op), cells[0], (None, "")]
                elif row.original is not None:
                    orig = to_image(row.original, shape, lo, hi, scale)
                    diff = difference_image(row.value, row.original, shape, lo, hi, scale)
                    op = (f"pred {row.original_predicted}"
                          if row.original_predicted is not None else "")
                    top = change_scale(row.value, row.original, lo, hi)
                    cells = [(orig, op), cells[0], (diff, f"max {_fmt(top)}" if top else "")]
                else:
                    cells = [(None, ""), cells[0], (None, "")]
            for c, (img, cap) in enumerate(cells):
                x = gx + label_w + c * (cell_w + GAP)
                if cap:
                    draw.text((x, y), cap, fill="black", font=font)
                if img is not None:
                    _paste_framed(canvas, draw, img, (x, y + th))
    return canvas


def changes_table(rows: list[GridRow]) -> str:
    """Markdown in the style of the WBO master's thesis fig. 4.2: instance, original input,
    adversarial example, sum of |change|, changed attributes, predicted classes."""
    lines = [("| instance | original input | new input | sum abs change | changed | "
              "predicted |"), "|---:|---|---|---:|---:|---|"]
    fmt = lambda a: "(" + ", ".join(_fmt(v) for v in a) + ")"
    for r in rows:
        if r.value is None:
            orig = "-" if r.original is None else fmt(np.asarray(r.original).ravel())
            op = "" if r.original_predicted is None else f"{r.original_predicted} -> "
            lines.append(f"| {r.label} | {orig} | {r.status} | - | - | {op}- |")
            continue
        new = np.asarray(r.value, float).ravel()
        if r.original is None:
            lines.append(f"| {r.label} | - | {fmt(new)} | - | - | {r.predicted} |")
            continue
        orig = np.asarray(r.original, float).ravel()
        d = np.abs(new - orig)
        lines.append(f"| {r.label} | {fmt(orig)} | {fmt(new)} | {_fmt(d.sum())} | "
                     f"{int(np.sum(d >= 1e-6))} | {r.original_predicted} -> {r.predicted} |")
    return "\n".join(lines) + "\n"
