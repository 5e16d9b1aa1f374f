"""The checks of Lab 00, one per notebook test cell, each a plain function of ``LabResults``.

Every check reads only the names it needs, so a wrong block costs the points of that block's
checks and no others. Recomputations start from the student's own ``X``. Failure messages say
what was expected, what was found and a hint; they never print the correct numbers.

Grade ids, points and visibility are listed in ``CHECKS`` at the bottom; the notebook's test cells
carry the same grade ids and points (a test keeps them in step).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from importlib import resources

import jsonschema
import numpy as np

from coursekit.checks import Check, CheckFailed, Registry
from coursekit.lab00 import reference as ref
from coursekit.lab00.results import MANIFEST_FILENAME, LabResults, Problem

EQUAL_ATOL = 1e-10  # "equals a recomputation": the same library on the same inputs agrees to ~1e-16
NUMBER_RTOL, NUMBER_ATOL = 1e-9, 1e-12  # a recorded number must be the computed one, not a rounded one


# -----------------------------------------------------------------------------
# reading the student's values, failing with a useful message


def _require(results: LabResults, name: str, block: str, what: str):
    value = results.get(name)
    if isinstance(value, Problem):
        if value.missing:
            raise CheckFailed(
                expected=f"Block {block} to leave `{name}` defined ({what})",
                found=f"no variable named `{name}`",
                hint=f"run Block {block} to its end; if it stops with an error, fix that first, and keep the name `{name}`",
            )
        raise CheckFailed(expected=f"`{name}`: {what}", found=f"`{name}` cannot be used: {value.reason}",
                          hint=f"assign {what} to `{name}`")
    return value


def _array(results: LabResults, name: str, block: str, what: str) -> np.ndarray:
    """``name`` as a finite float64 array of the lab's shape (3, 8)."""
    shape = (ref.T, ref.D_MODEL)
    array = _require(results, name, block, what)
    if array.shape != shape:
        raise CheckFailed(expected=f"`{name}` of shape {shape} ({what})", found=f"`{name}` has shape {array.shape}",
                          hint="one row per token, one column per model dimension")
    if not np.all(np.isfinite(array)):
        raise CheckFailed(expected=f"`{name}` to hold finite numbers", found=f"`{name}` contains NaN or inf",
                          hint="recompute it from finite inputs")
    return array.astype(np.float64)


def _student_X(results: LabResults) -> np.ndarray:
    """The student's X, where every recomputation starts."""
    return _array(results, "X", "A", "the embedding of token_ids")


def _number(results: LabResults, name: str, block: str, what: str) -> float:
    value = _require(results, name, block, what)
    if not math.isfinite(value):
        raise CheckFailed(expected=f"`{name}` to be a finite number", found=f"`{name}` is {value}",
                          hint="compute it from finite arrays")
    return value


def _is_json_number(value) -> bool:
    """A JSON number as json.loads gives it: int or float, not bool (a bool is an int in Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same_number(recorded: float, computed: float) -> bool:
    return math.isfinite(recorded) and abs(recorded - computed) <= NUMBER_ATOL + NUMBER_RTOL * abs(computed)


def _row_order(candidate: np.ndarray, rows_of: np.ndarray) -> list[int] | None:
    """The order in which ``candidate`` holds the rows of ``rows_of``, if it is a reordering of them."""
    order = []
    for row in candidate:
        matches = [i for i, original in enumerate(rows_of) if np.allclose(row, original, rtol=0, atol=EQUAL_ATOL)]
        if not matches:
            return None
        order.append(matches[0])
    return order if sorted(order) == list(range(len(rows_of))) else None


def _compare(name: str, found: np.ndarray, computed: np.ndarray, expected: str, hint: str) -> None:
    difference = np.abs(found - computed)  # (3, 8)
    if difference.max() > EQUAL_ATOL:
        row = int(np.unravel_index(difference.argmax(), difference.shape)[0])
        raise CheckFailed(expected=expected,
                          found=f"`{name}` differs from that recomputation by up to {difference.max():.3g} (row {row})",
                          hint=hint)


# -----------------------------------------------------------------------------
# Block A — set up


def block_a_token_ids(results: LabResults) -> str:
    what = f"the 3 token ids of {ref.SENTENCE!r} from default_tokenizer()"
    ids = _require(results, "token_ids", "A", what)
    if ids.shape != (3,) or not (np.issubdtype(ids.dtype, np.integer) and ids.dtype != bool):
        raise CheckFailed(expected=f"`token_ids`: {what}, a list of 3 integers",
                          found=f"`token_ids` has shape {ids.shape} and dtype {ids.dtype}",
                          hint="tokenizer.encode(...) returns a list of ints: keep it as it is")
    tokenizer = ref.tokenizer()
    if ids.min() < 0 or ids.max() >= tokenizer.vocab_size:
        raise CheckFailed(expected=f"ids of the default vocabulary (0..{tokenizer.vocab_size - 1})",
                          found=f"`token_ids` holds {ids.tolist()}", hint="use default_tokenizer() from minimodel")
    decoded = tokenizer.decode(ids.tolist())
    if decoded != ref.SENTENCE:
        raise CheckFailed(expected=f"`token_ids` to decode to {ref.SENTENCE!r}", found=f"they decode to {decoded!r}",
                          hint="encode the lab's three words in the lab's order, with default_tokenizer()")
    return f"token_ids decode to {ref.SENTENCE!r}"


def block_a_embedding(results: LabResults) -> str:
    X = _array(results, "X", "A", "the embedding of token_ids, stacked as rows")
    ids = _require(results, "token_ids", "A", "the 3 token ids of the lab's sentence")
    try:
        computed = ref.embed(ids)
    except (TypeError, ValueError, IndexError) as error:
        raise CheckFailed(expected="`token_ids` that the embedding accepts", found=str(error),
                          hint="fix token_ids first (see the Block A token-id check)") from None
    _compare("X", X, computed, expected="X = Embedding(vocab_size, 8, seed=0)(token_ids), with the default tokenizer's vocab_size",
             hint="embed token_ids with Embedding(tokenizer.vocab_size, 8, seed=0); do not reorder or rescale it")
    return "X is the seed-0 embedding of token_ids"


def block_a_layer(results: LabResults) -> str:
    what = f"MultiHeadAttention(d_model={ref.D_MODEL}, n_heads={ref.N_HEADS}, seed={ref.SEED})"
    layer = _require(results, "mha", "A", what)
    if (layer["d_model"], layer["n_heads"]) != (ref.D_MODEL, ref.N_HEADS):
        raise CheckFailed(expected=f"`mha` = {what}",
                          found=f"`mha` has d_model={layer['d_model']}, n_heads={layer['n_heads']}",
                          hint="use the lab's configuration from Block A")
    expected_weights = ref.layer().state_dict()
    differing = [name for name, array in expected_weights.items()
                 if name not in layer["state_dict"] or not np.array_equal(layer["state_dict"][name], array)]
    if differing:
        raise CheckFailed(expected=f"`mha` with the weights of seed {ref.SEED}",
                          found=f"its {', '.join(differing)} differ from those of seed {ref.SEED}",
                          hint="construct the layer with seed=0 and do not change its weights afterwards")
    return f"mha is {what}"


# -----------------------------------------------------------------------------
# Block B — without PE


def block_b_x_perm(results: LabResults) -> str:
    expected = "X_perm: the rows (tokens) of X in the order [2, 0, 1], shape (3, 8)"
    feature_hint = "index the first axis: X[[2, 0, 1]] takes row 2, row 0, row 1"
    X = _student_X(results)
    raw = _require(results, "X_perm", "B", "X with its rows (tokens) reordered as [2, 0, 1]")
    if raw.shape == (ref.T, len(ref.PERMUTATION)) and np.allclose(raw, X[:, ref.PERMUTATION], rtol=0, atol=EQUAL_ATOL):
        raise CheckFailed(expected=expected, found="X_perm has shape (3, 3): it takes columns (features) 2, 0, 1 of X",
                          hint=feature_hint)
    X_perm = _array(results, "X_perm", "B", "X with its rows (tokens) reordered as [2, 0, 1]")
    if np.allclose(X_perm, X[ref.PERMUTATION], rtol=0, atol=EQUAL_ATOL):
        return "X_perm holds the rows (tokens) of X in the order [2, 0, 1]"
    if np.allclose(np.sort(X_perm, axis=1), np.sort(X, axis=1), rtol=0, atol=EQUAL_ATOL):
        raise CheckFailed(expected=expected, found="X_perm reorders the columns (features) of X, not its rows (tokens)",
                          hint=feature_hint)
    order = _row_order(X_perm, X)
    found = f"X_perm holds the rows of X in the order {order}" if order else "X_perm is not a reordering of the rows of X"
    raise CheckFailed(expected=expected, found=found, hint="print X and X[[2, 0, 1]] side by side and compare row by row")


def block_b_outputs(results: LabResults) -> str:
    X = _student_X(results)
    Y = _array(results, "Y", "B", "mha.forward(X, mask=None)")
    Y_perm = _array(results, "Y_perm", "B", "mha.forward(X_perm, mask=None)")
    computed = ref.recompute(X)
    _compare("Y", Y, computed["Y"], expected="Y = mha.forward(X, mask=None) for your X, with the seed-0 layer",
             hint="run attention on X exactly as embedded in Block A, with no positional encoding")
    _compare("Y_perm", Y_perm, computed["Y_perm"],
             expected="Y_perm = mha.forward(X[[2, 0, 1]], mask=None), attention on the permuted tokens",
             hint="permute the input rows first, then run attention on the permuted input")
    return "Y and Y_perm equal a recomputation from X"


def block_b_assertion(results: LabResults) -> str:
    Y = _array(results, "Y", "B", "mha.forward(X, mask=None)")
    Y_perm = _array(results, "Y_perm", "B", "mha.forward(X_perm, mask=None)")
    if not np.allclose(Y_perm, Y[ref.PERMUTATION], atol=ref.WITHOUT_PE_THRESHOLD):
        raise CheckFailed(expected="np.allclose(Y_perm, Y[[2, 0, 1]], atol=1e-6): equivariance without PE",
                          found=f"they differ by up to {np.abs(Y_perm - Y[ref.PERMUTATION]).max():.3g}",
                          hint="Y_perm must be attention on the permuted input, compared with Y's rows reordered the same way")
    return "the first assertion holds: Y_perm equals Y[[2, 0, 1]] within atol 1e-6"


def _recorded_max_diff(results: LabResults, name: str, block: str, formula: str, below: bool, threshold: float) -> str:
    """``name`` must be the computed max |...| (not typed, not rounded) and on the right side of ``threshold``."""
    recorded = _number(results, name, block, f"the largest {formula}")
    computed = ref.recompute(_student_X(results))[name]
    if not _same_number(recorded, computed):
        raise CheckFailed(expected=f"{name} = the largest entry of {formula}, recomputed from your X",
                          found=f"{name} is {recorded!r}, which is not that value",
                          hint="compute it with np.abs(...).max() from the arrays; do not type or round it")
    side = "below" if below else "above"
    if not (recorded < threshold if below else recorded > threshold):
        raise CheckFailed(expected=f"{name} {side} {threshold:g}", found=f"{recorded!r}",
                          hint=f"see the other Block {block} checks")
    return f"{name} is the computed maximum difference, {side} {threshold:g}"


def block_b_max_diff(results: LabResults) -> str:
    return _recorded_max_diff(results, "without_pe_max_diff", "B", "|Y_perm - Y[[2, 0, 1]]|",
                              below=True, threshold=ref.WITHOUT_PE_THRESHOLD)


# -----------------------------------------------------------------------------
# Block C — with PE


def block_c_pe(results: LabResults) -> str:
    pe = _array(results, "pe", "C", "sinusoidal_pe(3, 8)")
    if not np.allclose(pe, ref.positional_encoding(), rtol=0, atol=EQUAL_ATOL):
        raise CheckFailed(expected="pe = sinusoidal_pe(3, 8) from minimodel.positional",
                          found="pe differs from sinusoidal_pe(3, 8)",
                          hint="call the library's sinusoidal_pe with T=3 and d_model=8; do not write your own")
    return "pe is sinusoidal_pe(3, 8)"


def block_c_outputs(results: LabResults) -> str:
    X = _student_X(results)
    Y_pe = _array(results, "Y_pe", "C", "mha.forward(X + pe)")
    Y_perm_pe = _array(results, "Y_perm_pe", "C", "mha.forward(X_perm + pe)")
    computed = ref.recompute(X)
    _compare("Y_pe", Y_pe, computed["Y_pe"], expected="Y_pe = mha.forward(X + pe): PE added to the input, before attention",
             hint="add pe to the embeddings first, then run attention")
    _compare("Y_perm_pe", Y_perm_pe, computed["Y_perm_pe"],
             expected="Y_perm_pe = mha.forward(X_perm + pe): the permuted tokens, plus PE by position, before attention",
             hint="add pe to the permuted input too: position 0 gets pe[0] whichever token sits there")
    return "Y_pe and Y_perm_pe equal a recomputation with PE added before attention"


def block_c_assertion(results: LabResults) -> str:
    Y_pe = _array(results, "Y_pe", "C", "mha.forward(X + pe)")
    Y_perm_pe = _array(results, "Y_perm_pe", "C", "mha.forward(X_perm + pe)")
    if np.allclose(Y_perm_pe, Y_pe[ref.PERMUTATION], atol=ref.WITH_PE_THRESHOLD):
        raise CheckFailed(expected="not np.allclose(Y_perm_pe, Y_pe[[2, 0, 1]], atol=1e-3): PE breaks equivariance",
                          found=f"they agree within 1e-3 (largest difference {np.abs(Y_perm_pe - Y_pe[ref.PERMUTATION]).max():.3g})",
                          hint="the same PE rows must be added by position to both inputs before attention")
    return "the second assertion holds: Y_perm_pe is not Y_pe[[2, 0, 1]] within atol 1e-3"


def block_c_max_diff(results: LabResults) -> str:
    return _recorded_max_diff(results, "with_pe_max_diff", "C", "|Y_perm_pe - Y_pe[[2, 0, 1]]|",
                              below=False, threshold=ref.WITH_PE_THRESHOLD)


# -----------------------------------------------------------------------------
# Block E — manifest


def manifest_schema() -> dict:
    text = resources.files("coursekit.lab00").joinpath("manifest.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _manifest(results: LabResults) -> dict:
    """The parsed manifest.json beside the notebook, or a CheckFailed saying why there is none."""
    text = results.manifest_file_text
    if text is None:
        raise CheckFailed(expected=f"{MANIFEST_FILENAME} beside the notebook, written by Block E",
                          found=f"no {MANIFEST_FILENAME} there",
                          hint=f"in Block E, json.dump(manifest, ...) into {MANIFEST_FILENAME!r} (a relative path) and run the block")
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckFailed(expected=f"{MANIFEST_FILENAME} to hold JSON", found=f"it does not parse: {error}",
                          hint="write it with json.dump rather than by hand") from None
    if not isinstance(manifest, dict):
        raise CheckFailed(expected=f"{MANIFEST_FILENAME} to hold a JSON object", found=f"it holds a {type(manifest).__name__}",
                          hint="dump the manifest dict itself")
    return manifest


def _field(manifest: dict, path: str):
    value = manifest
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise CheckFailed(expected=f"the manifest field {path}", found=f"{path} is missing",
                              hint="follow the manifest layout in the lab's Block E")
        value = value[key]
    return value


def block_e_manifest_file(results: LabResults) -> str:
    manifest = _manifest(results)
    in_notebook = _require(results, "manifest", "E", "the manifest dict that Block E writes")
    if manifest != in_notebook:
        raise CheckFailed(expected=f"{MANIFEST_FILENAME} to hold the `manifest` dict of this run",
                          found=f"{MANIFEST_FILENAME} differs from `manifest` (an old file, or a dict changed after writing)",
                          hint="build `manifest` completely, then write it, in Block E")
    return f"{MANIFEST_FILENAME} exists, parses, and holds the notebook's `manifest`"


def block_e_schema(results: LabResults) -> str:
    manifest = _manifest(results)
    validator = jsonschema.Draft202012Validator(manifest_schema())
    errors = sorted(validator.iter_errors(manifest), key=lambda error: list(error.absolute_path))
    if errors:
        problems = "; ".join(f"{'.'.join(map(str, error.absolute_path)) or 'top level'}: {error.message}"
                             for error in errors[:5])
        raise CheckFailed(expected="exactly the fields of the lab's manifest, with numbers, strings and objects where it has them",
                          found=problems + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""),
                          hint="compare your dict key by key with the manifest in the lab's Block E; add nothing, leave nothing out")
    return "the manifest has exactly the lab's fields and types"


def block_e_identity(results: LabResults) -> str:
    manifest = _manifest(results)
    expected = {"experiment": ref.EXPERIMENT, "seed": ref.SEED, "config.d_model": ref.D_MODEL,
                "config.n_heads": ref.N_HEADS, "config.T": ref.T, "config.pe_scheme_compared": ref.PE_SCHEME}
    wrong = []
    for path, value in expected.items():
        found = _field(manifest, path)
        if type(found) is not type(value) or found != value:
            wrong.append(f"{path} is {found!r}")
    if wrong:
        raise CheckFailed(expected="experiment, seed and config as the lab's Block E states them, with the values this notebook ran with",
                          found="; ".join(wrong),
                          hint="copy the experiment name exactly, and take the numbers from the configuration of Block A")
    return "experiment, seed and config describe this run"


def block_e_date(results: LabResults) -> str:
    date = _field(_manifest(results), "date")
    if not isinstance(date, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise CheckFailed(expected="date as YYYY-MM-DD", found=f"date is {date!r}",
                          hint="datetime.date.today().isoformat() gives this form")
    try:
        day = dt.date.fromisoformat(date)
    except ValueError as error:
        raise CheckFailed(expected="date to be a real calendar date", found=f"{date!r}: {error}",
                          hint="datetime.date.today().isoformat() gives a real date") from None
    if day > dt.date.today() + dt.timedelta(days=1):  # one day of slack for time zones
        raise CheckFailed(expected="the date the experiment ran", found=f"{date!r} is in the future",
                          hint="datetime.date.today().isoformat()")
    return f"date {date} is a real date"


def block_e_versions(results: LabResults) -> str:
    manifest = _manifest(results)
    wrong = [f"versions.{name} is {_field(manifest, f'versions.{name}')!r}"
             for name in ("python", "numpy") if _field(manifest, f"versions.{name}") != results.runtime_versions[name]]
    if wrong:
        raise CheckFailed(expected="versions of the Python and numpy that ran this notebook",
                          found="; ".join(wrong) + " (not the versions this notebook ran with)",
                          hint="read them at run time: platform.python_version() and np.__version__")
    return "versions are those of the running Python and numpy"


def block_e_results_match(results: LabResults) -> str:
    manifest = _manifest(results)
    computed = ref.recompute(_student_X(results))
    wrong = []
    for field, name in (("without_PE_equivariance_max_diff", "without_pe_max_diff"),
                        ("with_PE_equivariance_max_diff", "with_pe_max_diff")):
        recorded = _field(manifest, f"results_summary.{field}")
        if not _is_json_number(recorded) or not _same_number(float(recorded), computed[name]):
            wrong.append(f"results_summary.{field} is {recorded!r}")
    if wrong:
        raise CheckFailed(expected="results_summary to record the differences your code computes (to 9 significant digits)",
                          found="; ".join(wrong) + ", which is not what the correct code computes from your X",
                          hint="put the variables without_pe_max_diff and with_pe_max_diff into the manifest, not typed or rounded numbers")
    return "results_summary records the computed differences"


def block_e_results_thresholds(results: LabResults) -> str:
    manifest = _manifest(results)
    without_pe = _field(manifest, "results_summary.without_PE_equivariance_max_diff")
    with_pe = _field(manifest, "results_summary.with_PE_equivariance_max_diff")
    wrong = []
    if not _is_json_number(without_pe) or not without_pe < ref.WITHOUT_PE_THRESHOLD:
        wrong.append(f"without_PE_equivariance_max_diff is {without_pe!r}, expected below 1e-6")
    if not _is_json_number(with_pe) or not with_pe > ref.WITH_PE_THRESHOLD:
        wrong.append(f"with_PE_equivariance_max_diff is {with_pe!r}, expected above 1e-3")
    if wrong:
        raise CheckFailed(expected="without-PE diff < 1e-6 and with-PE diff > 1e-3, as the lab states",
                          found="; ".join(wrong), hint="if the numbers are right, revisit Blocks B and C")
    return "the recorded differences sit on the right side of 1e-6 and 1e-3"


# -----------------------------------------------------------------------------
# the registry: grade_id, block, points, visible to students, title, function

CHECKS = Registry([
    Check("test_block_a_token_ids", "A", 1, True, "token_ids decode to 'he work I'", block_a_token_ids),
    Check("test_block_a_embedding", "A", 1, False, "X is the seed-0 embedding of token_ids", block_a_embedding),
    Check("test_block_a_mha", "A", 1, True, "mha has d_model 8, n_heads 1 and the weights of seed 0", block_a_layer),
    Check("test_block_b_x_perm", "B", 1, True, "X_perm permutes tokens (rows) as [2, 0, 1]", block_b_x_perm),
    Check("test_block_b_outputs", "B", 2, False, "Y and Y_perm equal a recomputation from X", block_b_outputs),
    Check("test_block_b_assertion", "B", 1, True, "first assertion: equivariance without PE", block_b_assertion),
    Check("test_block_b_max_diff", "B", 1, False, "without_pe_max_diff is computed and < 1e-6", block_b_max_diff),
    Check("test_block_c_pe", "C", 1, True, "pe is sinusoidal_pe(3, 8)", block_c_pe),
    Check("test_block_c_outputs", "C", 2, False, "Y_pe and Y_perm_pe: PE added before attention", block_c_outputs),
    Check("test_block_c_assertion", "C", 1, True, "second assertion: PE breaks equivariance", block_c_assertion),
    Check("test_block_c_max_diff", "C", 1, False, "with_pe_max_diff is computed and > 1e-3", block_c_max_diff),
    Check("test_block_e_manifest_file", "E", 1, True, "manifest.json written beside the notebook", block_e_manifest_file),
    Check("test_block_e_schema", "E", 1, True, "manifest has exactly the lab's schema", block_e_schema),
    Check("test_block_e_identity", "E", 1, True, "experiment, seed and config", block_e_identity),
    Check("test_block_e_date", "E", 1, True, "date is a real YYYY-MM-DD date", block_e_date),
    Check("test_block_e_versions", "E", 1, True, "versions of the running Python and numpy", block_e_versions),
    Check("test_block_e_results_match", "E", 2, False, "results_summary records the computed numbers", block_e_results_match),
    Check("test_block_e_results_thresholds", "E", 1, True, "results_summary on the right side of the thresholds",
          block_e_results_thresholds),
])
