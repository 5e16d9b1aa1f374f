"""Lab 00, "Permutation Equivariance, in Numbers": its description and its self-checks.

In a notebook test cell::

    from coursekit.labs.lab00 import run_check
    run_check("test_block_b_assertion", globals())

and, before submitting, every self-check at once: ``check_all(globals())``.

Everything here is what students receive: the lab's public constants (all stated in the lab's
text), its description (``LAB``: every graded and answer cell with its block and points, as the
release shows them) and the visible checks they run before submitting. The hidden checks and the
reference computations behind them live in ``coursegrader.labs.lab00``, which the student kit never
holds; they attach to the test cells described here (``CELLS.check``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources

import numpy as np

from coursekit import checkers
from coursekit.checks import CheckFailed, Registry
from coursekit.i18n import N_, _
from coursekit.lab import AnswerCell, CheckCell, Cells, Deliverables, Lab
from coursekit.results import LabResults, ResultSpec
from coursekit.selfcheck import make_check_all, make_run_check
from minimodel import MultiHeadAttention, default_tokenizer, sinusoidal_pe

# -----------------------------------------------------------------------------
# the lab's own constants, as its text states them

EXPERIMENT = "16-permutation-equivariance"
SENTENCE = "he work I"
PERMUTATION = [2, 0, 1]  # X[[2, 0, 1]]: rows 2, 0, 1 of X, in that order
D_MODEL, N_HEADS, T, SEED = 8, 1, 3, 0
PE_SCHEME = "sinusoidal"
WITHOUT_PE_THRESHOLD = 1e-6  # the without-PE diff must be below this
WITH_PE_THRESHOLD = 1e-3  # the with-PE diff must be above this
MANIFEST = "manifest.json"
EQUAL_ATOL = 1e-10  # "equals": the same library on the same inputs agrees to ~1e-16
SHAPE = (T, D_MODEL)  # every array of Blocks A–C: one row per token, one column per model dimension
RESULT_FIELDS = {"without_PE_equivariance_max_diff": "without_pe_max_diff",  # manifest field -> variable
                 "with_PE_equivariance_max_diff": "with_pe_max_diff"}

RESULTS = ResultSpec(
    arrays=("token_ids", "X", "Y", "X_perm", "Y_perm", "pe", "Y_pe", "Y_perm_pe"),
    numbers=("without_pe_max_diff", "with_pe_max_diff"),
    json_values=("manifest",),
    modules={"mha": ("d_model", "n_heads")},
    files=(MANIFEST,),
)


# -----------------------------------------------------------------------------
# reading this lab's values


def array(results: LabResults, name: str, block: str, what: str) -> np.ndarray:
    return checkers.array(results, name, block, what, SHAPE, layout=_("one row per token, one column per model dimension"))


def student_X(results: LabResults) -> np.ndarray:
    """The student's X, where every recomputation starts."""
    return array(results, "X", "A", _("the embedding of token_ids"))


def manifest_file(results: LabResults) -> dict:
    return checkers.json_file_object(results, MANIFEST, _("Block E"))


def manifest_field(manifest: dict, path: str):
    return checkers.json_field(manifest, path, hint=_("follow the manifest layout in the lab's Block E"))


def manifest_schema() -> dict:
    return json.loads(resources.files(__package__).joinpath("lab00_manifest.schema.json").read_text(encoding="utf-8"))


def _row_order(candidate: np.ndarray, rows_of: np.ndarray) -> list[int] | None:
    """The order in which ``candidate`` holds the rows of ``rows_of``, if it is a reordering of them."""
    order = []
    for row in candidate:
        matches = [i for i, original in enumerate(rows_of) if np.allclose(row, original, rtol=0, atol=EQUAL_ATOL)]
        if not matches:
            return None
        order.append(matches[0])
    return order if sorted(order) == list(range(len(rows_of))) else None


# -----------------------------------------------------------------------------
# Block A — set up


def block_a_token_ids(results: LabResults) -> str:
    what = _("the 3 token ids of {sentence} from default_tokenizer()").format(sentence=repr(SENTENCE))
    ids = checkers.require(results, "token_ids", "A", what)
    if not isinstance(ids, np.ndarray) or ids.shape != (3,) or not (np.issubdtype(ids.dtype, np.integer) and ids.dtype != bool):
        raise CheckFailed(expected=_("`token_ids`: {what}, a list of 3 integers").format(what=what),
                          found=_("`token_ids` has shape {shape} and dtype {dtype}").format(
                              shape=getattr(ids, "shape", "?"), dtype=getattr(ids, "dtype", "?")),
                          hint=_("tokenizer.encode(...) returns a list of ints: keep it as it is"))
    tokenizer = default_tokenizer()
    if ids.min() < 0 or ids.max() >= tokenizer.vocab_size:
        raise CheckFailed(expected=_("ids of the default vocabulary (0..{last})").format(last=tokenizer.vocab_size - 1),
                          found=_("`token_ids` holds {ids}").format(ids=ids.tolist()),
                          hint=_("use default_tokenizer() from minimodel"))
    decoded = tokenizer.decode(ids.tolist())
    if decoded != SENTENCE:
        raise CheckFailed(expected=_("`token_ids` to decode to {sentence}").format(sentence=repr(SENTENCE)),
                          found=_("they decode to {decoded}").format(decoded=repr(decoded)),
                          hint=_("encode the lab's three words in the lab's order, with default_tokenizer()"))
    return _("token_ids decode to {sentence}").format(sentence=repr(SENTENCE))


def block_a_layer(results: LabResults) -> str:
    what = f"MultiHeadAttention(d_model={D_MODEL}, n_heads={N_HEADS}, seed={SEED})"
    layer = checkers.module(results, "mha", "A", what)
    found = (layer.attributes["d_model"], layer.attributes["n_heads"])
    if found != (D_MODEL, N_HEADS):
        raise CheckFailed(expected=f"`mha` = {what}",
                          found=_("`mha` has d_model={d_model}, n_heads={n_heads}").format(d_model=found[0], n_heads=found[1]),
                          hint=_("use the lab's configuration from Block A"))
    expected_weights = MultiHeadAttention(d_model=D_MODEL, n_heads=N_HEADS, seed=SEED).state_dict()
    differing = [name for name, weights in expected_weights.items()
                 if name not in layer.state_dict or not np.array_equal(layer.state_dict[name], weights)]
    if differing:
        raise CheckFailed(expected=_("`mha` with the weights of seed {seed}").format(seed=SEED),
                          found=_("its {names} differ from those of seed {seed}").format(names=", ".join(differing), seed=SEED),
                          hint=_("construct the layer with seed=0 and do not change its weights afterwards"))
    return _("mha is {layer}").format(layer=what)


# -----------------------------------------------------------------------------
# Block B — without PE


def block_b_x_perm(results: LabResults) -> str:
    expected = _("X_perm: the rows (tokens) of X in the order [2, 0, 1], shape (3, 8)")
    feature_hint = _("index the first axis: X[[2, 0, 1]] takes row 2, row 0, row 1")
    what = _("X with its rows (tokens) reordered as [2, 0, 1]")
    X = student_X(results)
    raw = checkers.require(results, "X_perm", "B", what)
    if isinstance(raw, np.ndarray) and raw.shape == (T, len(PERMUTATION)) \
            and np.allclose(raw, X[:, PERMUTATION], rtol=0, atol=EQUAL_ATOL):
        raise CheckFailed(expected=expected,
                          found=_("X_perm has shape (3, 3): it takes columns (features) 2, 0, 1 of X"), hint=feature_hint)
    X_perm = array(results, "X_perm", "B", what)
    if np.allclose(X_perm, X[PERMUTATION], rtol=0, atol=EQUAL_ATOL):
        return _("X_perm holds the rows (tokens) of X in the order [2, 0, 1]")
    if np.allclose(X_perm, X, rtol=0, atol=EQUAL_ATOL):
        raise CheckFailed(expected=expected, found=_("X_perm equals X: nothing was permuted"),
                          hint=_("X[[2, 0, 1]] takes row 2, row 0, row 1 of X"))
    if np.allclose(np.sort(X_perm, axis=1), np.sort(X, axis=1), rtol=0, atol=EQUAL_ATOL):
        raise CheckFailed(expected=expected, found=_("X_perm reorders the columns (features) of X, not its rows (tokens)"),
                          hint=feature_hint)
    order = _row_order(X_perm, X)
    found = _("X_perm holds the rows of X in the order {order}").format(order=order) if order \
        else _("X_perm is not a reordering of the rows of X")
    raise CheckFailed(expected=expected, found=found,
                      hint=_("print X and X[[2, 0, 1]] side by side and compare row by row"))


def block_b_assertion(results: LabResults) -> str:
    Y = array(results, "Y", "B", "mha.forward(X, mask=None)")
    Y_perm = array(results, "Y_perm", "B", "mha.forward(X_perm, mask=None)")
    if np.allclose(Y_perm, Y, rtol=0, atol=EQUAL_ATOL):
        raise CheckFailed(expected=_("Y_perm: attention on the permuted tokens, the rows of Y in another order"),
                          found=_("Y_perm equals Y row by row, so the assertion proves nothing: nothing was permuted, "
                                  "or Y's rows are all alike"),
                          hint=_("Y = mha.forward(X) and Y_perm = mha.forward(X[[2, 0, 1]]): three different tokens "
                                 "give three different rows"))
    if not np.allclose(Y_perm, Y[PERMUTATION], atol=WITHOUT_PE_THRESHOLD):
        raise CheckFailed(expected=_("np.allclose(Y_perm, Y[[2, 0, 1]], atol=1e-6): equivariance without PE"),
                          found=_("they differ by up to {difference}").format(
                              difference=f"{np.abs(Y_perm - Y[PERMUTATION]).max():.3g}"),
                          hint=_("Y_perm must be attention on the permuted input, compared with Y's rows reordered "
                                 "the same way"))
    return _("the first assertion holds: Y_perm equals Y[[2, 0, 1]] within atol 1e-6")


# -----------------------------------------------------------------------------
# Block C — with PE


def block_c_pe(results: LabResults) -> str:
    pe = array(results, "pe", "C", "sinusoidal_pe(3, 8)")
    if not np.allclose(pe, sinusoidal_pe(T, D_MODEL), rtol=0, atol=EQUAL_ATOL):
        raise CheckFailed(expected=_("pe = sinusoidal_pe(3, 8) from minimodel.positional"),
                          found=_("pe differs from sinusoidal_pe(3, 8)"),
                          hint=_("call the library's sinusoidal_pe with T=3 and d_model=8; do not write your own"))
    return _("pe is sinusoidal_pe(3, 8)")


def block_c_assertion(results: LabResults) -> str:
    Y_pe = array(results, "Y_pe", "C", "mha.forward(X + pe)")
    Y_perm_pe = array(results, "Y_perm_pe", "C", "mha.forward(X_perm + pe)")
    if np.allclose(Y_perm_pe, Y_pe[PERMUTATION], atol=WITH_PE_THRESHOLD):
        raise CheckFailed(expected=_("not np.allclose(Y_perm_pe, Y_pe[[2, 0, 1]], atol=1e-3): PE breaks equivariance"),
                          found=_("they agree within 1e-3 (largest difference {difference})").format(
                              difference=f"{np.abs(Y_perm_pe - Y_pe[PERMUTATION]).max():.3g}"),
                          hint=_("the same PE rows must be added by position to both inputs before attention"))
    return _("the second assertion holds: Y_perm_pe is not Y_pe[[2, 0, 1]] within atol 1e-3")


# -----------------------------------------------------------------------------
# Block E — manifest


def block_e_manifest_file(results: LabResults) -> str:
    manifest = manifest_file(results)
    in_notebook = checkers.require(results, "manifest", "E", _("the manifest dict that Block E writes"))
    if manifest != in_notebook:
        raise CheckFailed(expected=_("{filename} to hold the `manifest` dict of this run").format(filename=MANIFEST),
                          found=_("{filename} differs from `manifest` (an old file, or a dict changed after writing)").format(
                              filename=MANIFEST),
                          hint=_("build `manifest` completely, then write it, in Block E"))
    return _("{filename} exists, parses, and holds the notebook's `manifest`").format(filename=MANIFEST)


def block_e_schema(results: LabResults) -> str:
    import jsonschema  # imported here: it is slow to import, and only this check needs it

    manifest = manifest_file(results)
    validator = jsonschema.Draft202012Validator(manifest_schema())
    errors = sorted(validator.iter_errors(manifest), key=lambda error: [str(part) for part in error.absolute_path])
    if errors:
        # jsonschema's own messages stay in English: they quote the values and the schema's terms
        top_level = _("top level")
        problems = "; ".join(f"{'.'.join(map(str, error.absolute_path)) or top_level}: {error.message:.200}"
                             for error in errors[:5])
        more = _(" (and {count} more)").format(count=len(errors) - 5) if len(errors) > 5 else ""
        raise CheckFailed(expected=_("exactly the fields of the lab's manifest, with numbers, strings and objects where "
                                     "it has them"),
                          found=problems + more,
                          hint=_("compare your dict key by key with the manifest in the lab's Block E; add nothing, "
                                 "leave nothing out"))
    return _("the manifest has exactly the lab's fields and types")


def _is(path: str, value) -> str:
    return _("{path} is {value}").format(path=path, value=value)


def block_e_identity(results: LabResults) -> str:
    manifest = manifest_file(results)
    expected = {"experiment": EXPERIMENT, "seed": SEED, "config.d_model": D_MODEL, "config.n_heads": N_HEADS,
                "config.T": T, "config.pe_scheme_compared": PE_SCHEME}
    wrong = []
    for path, value in expected.items():
        found = manifest_field(manifest, path)
        if type(found) is not type(value) or found != value:
            wrong.append(_is(path, f"{found!r:.60}"))
    if wrong:
        raise CheckFailed(expected=_("experiment, seed and config as the lab's Block E states them, with the values "
                                     "this notebook ran with"),
                          found="; ".join(wrong),
                          hint=_("copy the experiment name exactly, and take the numbers from the configuration of "
                                 "Block A"))
    return _("experiment, seed and config describe this run")


def block_e_date(results: LabResults) -> str:
    date = manifest_field(manifest_file(results), "date")
    if not isinstance(date, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise CheckFailed(expected=_("date as YYYY-MM-DD"), found=_is("date", f"{date!r:.60}"),
                          hint=_("datetime.date.today().isoformat() gives this form"))
    try:
        day = dt.date.fromisoformat(date)
    except ValueError as error:
        raise CheckFailed(expected=_("date to be a real calendar date"), found=f"{date!r}: {error}",
                          hint=_("datetime.date.today().isoformat() gives a real date")) from None
    if day > dt.date.today() + dt.timedelta(days=1):  # one day of slack for time zones
        raise CheckFailed(expected=_("the date the experiment ran"), found=_("{date} is in the future").format(date=repr(date)),
                          hint="datetime.date.today().isoformat()")
    return _("date {date} is a real date").format(date=date)


def block_e_versions(results: LabResults) -> str:
    manifest = manifest_file(results)
    wrong = [_is(f"versions.{name}", f"{manifest_field(manifest, f'versions.{name}')!r:.40}")
             for name in ("python", "numpy") if manifest_field(manifest, f"versions.{name}") != results.runtime_versions[name]]
    if wrong:
        raise CheckFailed(expected=_("versions of the Python and numpy that ran this notebook"),
                          found=_("{wrong} (not the versions this notebook ran with)").format(wrong="; ".join(wrong)),
                          hint=_("read them at run time: platform.python_version() and np.__version__"))
    return _("versions are those of the running Python and numpy")


def block_e_results_thresholds(results: LabResults) -> str:
    manifest = manifest_file(results)
    without_pe = manifest_field(manifest, "results_summary.without_PE_equivariance_max_diff")
    with_pe = manifest_field(manifest, "results_summary.with_PE_equivariance_max_diff")
    wrong = []
    if not checkers.is_json_number(without_pe) or not without_pe < WITHOUT_PE_THRESHOLD:
        wrong.append(_("without_PE_equivariance_max_diff is {value}, expected below 1e-6").format(value=f"{without_pe!r:.40}"))
    if not checkers.is_json_number(with_pe) or not with_pe > WITH_PE_THRESHOLD:
        wrong.append(_("with_PE_equivariance_max_diff is {value}, expected above 1e-3").format(value=f"{with_pe!r:.40}"))
    if wrong:
        raise CheckFailed(expected=_("without-PE diff < 1e-6 and with-PE diff > 1e-3, as the lab states"),
                          found="; ".join(wrong), hint=_("if the numbers are right, revisit Blocks B and C"))
    return _("the recorded differences sit on the right side of 1e-6 and 1e-3")


# -----------------------------------------------------------------------------
# the lab, described once

CELLS = Cells([
    AnswerCell("block_a", block="A"),
    CheckCell("test_block_a_token_ids", block="A", points=1, visible=True),
    CheckCell("test_block_a_embedding", block="A", points=1, visible=False),
    CheckCell("test_block_a_mha", block="A", points=1, visible=True),
    AnswerCell("block_b", block="B"),
    CheckCell("test_block_b_x_perm", block="B", points=1, visible=True),
    CheckCell("test_block_b_outputs", block="B", points=2, visible=False),
    CheckCell("test_block_b_assertion", block="B", points=1, visible=True),
    CheckCell("test_block_b_max_diff", block="B", points=1, visible=False),
    AnswerCell("block_c", block="C"),
    CheckCell("test_block_c_pe", block="C", points=1, visible=True),
    CheckCell("test_block_c_outputs", block="C", points=2, visible=False),
    CheckCell("test_block_c_assertion", block="C", points=1, visible=True),
    CheckCell("test_block_c_max_diff", block="C", points=1, visible=False),
    AnswerCell("block_d", block="D", points=4),  # written, graded by hand
    AnswerCell("block_e", block="E"),
    CheckCell("test_block_e_manifest_file", block="E", points=1, visible=True),
    CheckCell("test_block_e_schema", block="E", points=1, visible=True),
    CheckCell("test_block_e_identity", block="E", points=1, visible=True),
    CheckCell("test_block_e_date", block="E", points=1, visible=True),
    CheckCell("test_block_e_versions", block="E", points=1, visible=True),
    CheckCell("test_block_e_results_match", block="E", points=2, visible=False),
    CheckCell("test_block_e_results_thresholds", block="E", points=1, visible=True),
])

# What students' Block A and B cells look like, ending in the mistake made most: columns for rows.
WARM_UP = """\
import numpy as np
from minimodel import Embedding, MultiHeadAttention, default_tokenizer, sinusoidal_pe

tokenizer = default_tokenizer()
token_ids = tokenizer.encode("he work I")  # a comment, as cells have them
X = Embedding(tokenizer.vocab_size, 8, seed=0).forward(np.array(token_ids))
mha = MultiHeadAttention(8, 1, seed=0)
print(np.round(X[[2, 0, 1]], 3), sinusoidal_pe(3, 8).shape)
mha.forward(X[:, [2, 0, 1]])  # the mistake students make most: columns for rows
"""

LAB = Lab(
    assignment=EXPERIMENT,
    notebook="demo",
    title=N_("Lab 00 — Permutation Equivariance, in Numbers"),
    blocks={"A": N_("set up"), "B": N_("without PE"), "C": N_("with PE"), "D": N_("interpret"), "E": N_("manifest")},
    cells=CELLS,
    results=RESULTS,
    writes=(MANIFEST, "demo_output.txt"),
    deliverables=Deliverables(
        folder=f"experiments/{EXPERIMENT}",
        script="demo.py",
        script_cells=(("setup", "Provided set-up"), ("block_a", "Block A — set up"), ("block_b", "Block B — without PE"),
                      ("block_c", "Block C — with PE"), ("block_e", "Block E — manifest")),
        answer_cell="block_d",
        copied_files=("demo_output.txt", MANIFEST),
    ),
    module=__name__,
    solution="solutions/00-permutation-equivariance-ref.md",  # as the lab's text names it
    warm_up=WARM_UP,
    self_checks=Registry([
        CELLS.check("test_block_a_token_ids", N_("token_ids decode to 'he work I'"), block_a_token_ids),
        CELLS.check("test_block_a_mha", N_("mha has d_model 8, n_heads 1 and the weights of seed 0"), block_a_layer),
        CELLS.check("test_block_b_x_perm", N_("X_perm permutes tokens (rows) as [2, 0, 1]"), block_b_x_perm),
        CELLS.check("test_block_b_assertion", N_("first assertion: equivariance without PE"), block_b_assertion),
        CELLS.check("test_block_c_pe", N_("pe is sinusoidal_pe(3, 8)"), block_c_pe),
        CELLS.check("test_block_c_assertion", N_("second assertion: PE breaks equivariance"), block_c_assertion),
        CELLS.check("test_block_e_manifest_file", N_("manifest.json written beside the notebook"), block_e_manifest_file),
        CELLS.check("test_block_e_schema", N_("manifest has exactly the lab's schema"), block_e_schema),
        CELLS.check("test_block_e_identity", N_("experiment, seed and config"), block_e_identity),
        CELLS.check("test_block_e_date", N_("date is a real YYYY-MM-DD date"), block_e_date),
        CELLS.check("test_block_e_versions", N_("versions of the running Python and numpy"), block_e_versions),
        CELLS.check("test_block_e_results_thresholds", N_("results_summary on the right side of the thresholds"),
                    block_e_results_thresholds),
    ]),
)

run_check = make_run_check(LAB)
check_all = make_check_all(LAB)
