"""The Spanish edition: one source, two releases, graded alike, fed back in the student's language."""

import csv
import re

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from coursegrader.language.catalog import Translator, translate_code, translate_markdown
from coursekit.lab import find_lab
from tests.assignment.conftest import ASSIGNMENT, ROOT
from tests.assignment.gradebooks import submission_grades
from tests.examples.lab00 import SPANISH_TWINS

RELEASE = ROOT / "release" / ASSIGNMENT / "demo.ipynb"
RELEASE_ES = ROOT / "release-es" / ASSIGNMENT / "demo.ipynb"
LAB = find_lab(ASSIGNMENT)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def code_without_comments(source: str) -> list[str]:
    return [re.sub(r"\s*#.*$", "", line) for line in source.splitlines() if not line.lstrip().startswith("#")]


def grades(course, student) -> tuple[dict[str, float], dict[str, str | None]]:
    """Each grade cell's score, and each comment."""
    cells, comments = submission_grades(course, student, ASSIGNMENT)
    return {name: score for name, (score, _, _) in cells.items()}, comments


# -----------------------------------------------------------------------------
# the release


def test_committed_spanish_edition_is_what_course_release_writes_now(graded_course):
    course, _ = graded_course
    fresh = course / "release-es" / ASSIGNMENT
    assert nbformat.read(fresh / "demo.ipynb", as_version=4) == nbformat.read(RELEASE_ES, as_version=4), \
        "release-es/ is stale: run `course release` and commit the result"
    assert (fresh / "README.md").read_text() == (RELEASE_ES.parent / "README.md").read_text()
    assert sorted(path.name for path in fresh.iterdir()) == sorted(path.name for path in RELEASE.parent.iterdir())


def test_both_editions_have_the_same_cells_grade_ids_points_and_code():
    english, spanish = nbformat.read(RELEASE, as_version=4), nbformat.read(RELEASE_ES, as_version=4)
    assert spanish.metadata["coursekit"]["language"] == "es" and "coursekit" not in english.metadata
    assert len(english.cells) == len(spanish.cells)
    for en, es in zip(english.cells, spanish.cells):
        assert en.cell_type == es.cell_type
        assert {key: value for key, value in nbgrader_meta(en).items() if key != "checksum"} == \
            {key: value for key, value in nbgrader_meta(es).items() if key != "checksum"}
        if nbgrader_meta(es).get("checksum"):
            assert nbgrader_meta(es)["checksum"] == compute_checksum(es)  # nbgrader validate agrees
        if en.cell_type == "code":
            expected = code_without_comments(en.source.replace('set_language("en")', 'set_language("es")'))
            assert code_without_comments(es.source) == expected, nbgrader_meta(en).get("grade_id")
        if en.source.strip():
            assert en.source != es.source or en.cell_type == "code" and "#" not in en.source, nbgrader_meta(en)


def test_the_spanish_edition_reads_as_spanish_and_keeps_the_code_names():
    spanish = nbformat.read(RELEASE_ES, as_version=4)
    text = "\n".join(cell.source for cell in spanish.cells)
    for words in ("Bloque A", "equivarianza por permutación", "codificación posicional", "autocomprobación",
                  "ESCRIBE AQUÍ TU CÓDIGO", "ESCRIBE AQUÍ TU RESPUESTA", 'set_language("es")'):
        assert words.lower() in text.lower(), words
    for english in ("YOUR CODE HERE", "YOUR ANSWER HERE", "## Block", "Self-check:", "Hidden check,"):
        assert english not in text, english
    english_text = "\n".join(cell.source for cell in nbformat.read(RELEASE, as_version=4).cells)
    assert sorted(set(re.findall(r"`[A-Za-z_][\w.]*`", english_text)) - {"`__version__`"}) <= \
        sorted(set(re.findall(r"`[A-Za-z_][\w.]*`", text))) + ["`YOUR_ANSWER_HERE`"]
    guide = (RELEASE_ES.parent / "README.md").read_text()
    assert guide.startswith("# Laboratorio 00") and "nbgrader submit 16-permutation-equivariance" in guide


def test_nothing_of_the_solution_or_the_marking_scheme_reaches_the_spanish_edition():
    translate = Translator(ROOT / "source" / ASSIGNMENT, "es")
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / "demo.ipynb", as_version=4)
    spanish_text = "\n".join(cell.source for cell in nbformat.read(RELEASE_ES, as_version=4).cells)
    english_text = "\n".join(cell.source for cell in nbformat.read(RELEASE, as_version=4).cells)
    for cell in source.cells:
        for region in re.findall(r"### BEGIN (?:SOLUTION|MARK SCHEME)\n(.*?)### END", cell.source, re.S):
            translated = translate_markdown(region, translate) if cell.cell_type == "markdown" \
                else translate_code(region, translate, "es")
            for line in translated.splitlines():
                if len(line.strip()) >= 12 and line.strip() not in english_text:  # not also public (the manifest's layout)
                    assert line.strip() not in spanish_text, line


# -----------------------------------------------------------------------------
# grading and feedback


@pytest.mark.parametrize("name", SPANISH_TWINS)
def test_a_spanish_submission_scores_as_its_english_twin(graded_course, name):
    course, _ = graded_course
    assert grades(course, f"{name}_es") == grades(course, name)


def test_the_graded_spanish_notebook_is_the_spanish_edition_with_the_students_work(graded_course):
    course, _ = graded_course
    graded = nbformat.read(course / "autograded" / "features_permuted_es" / ASSIGNMENT / "demo.ipynb", as_version=4)
    released = nbformat.read(RELEASE_ES, as_version=4)
    for cell, release_cell in zip(graded.cells, released.cells):
        meta = nbgrader_meta(cell)
        if meta.get("locked") and cell.cell_type == "markdown":
            # nbgrader puts the marking scheme back for graders (formgrader); the feedback page drops it
            shown = re.sub(r"\n*### BEGIN MARK SCHEME.*?### END MARK SCHEME\n?", "", cell.source, flags=re.S)
            assert shown.strip() == release_cell.source.strip(), meta["grade_id"]
        if meta.get("solution") and cell.cell_type == "code":
            assert "X_perm = X[:, [2, 0, 1]]" in cell.source or meta["grade_id"] != "block_b"
    outputs = "\n".join(output.get("evalue", output.get("text", "")) for cell in graded.cells
                        for output in cell.get("outputs", []))
    assert "comprobación no superada" in outputs and "esperado:" in outputs and "pista:" in outputs
    assert "X_perm" in outputs and "[2, 0, 1]" in outputs  # names and numbers as they are
    assert "check failed" not in outputs and "expected:" not in outputs


def test_spanish_feedback_is_in_spanish_and_english_feedback_in_english(graded_course):
    course, _ = graded_course
    spanish = (course / "feedback" / "features_permuted_es" / ASSIGNMENT / "demo.html").read_text()
    english = (course / "feedback" / "features_permuted" / ASSIGNMENT / "demo.html").read_text()
    assert '<html lang="es">' in spanish and '<html lang="en">' in english
    for words in ("Tus resultados", "Bloque B", "no superada", "comprobación oculta", "pendiente de corrección",
                  "Laboratorio 00"):
        assert words in spanish, words
    for words in ("Your results", "✘ failed", "hidden check", "awaits a grader", "expected:"):
        assert words in english and words not in spanish, words


def test_the_class_report_stays_in_the_instructors_language(graded_course):
    course, _ = graded_course
    with (course / "reports" / ASSIGNMENT / "checks.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    by_student = {}
    for row in rows:
        by_student.setdefault(row["student"], {})[row["grade_id"]] = row
    for name in SPANISH_TWINS:
        for grade_id, row in by_student[name].items():
            twin = by_student[f"{name}_es"][grade_id]
            assert {key: value for key, value in twin.items() if key != "student"} == \
                {key: value for key, value in row.items() if key != "student"}, (name, grade_id)


def test_an_untouched_spanish_answer_is_no_response_as_in_english(graded_course):
    course, _ = graded_course
    _, comments = grades(course, "untouched_release_es")
    assert comments["block_d"] == "No response."
    graded = nbformat.read(course / "autograded" / "untouched_release_es" / ASSIGNMENT / "demo.ipynb", as_version=4)
    answer = next(cell for cell in graded.cells if nbgrader_meta(cell).get("grade_id") == "block_d")
    assert answer.source.strip() == "ESCRIBE AQUÍ TU RESPUESTA"


def test_results_json_speaks_the_students_language_with_the_same_scores(graded_course):
    import json

    course, _ = graded_course
    folder = course / "reports" / ASSIGNMENT / "results"
    english = json.loads((folder / "features_permuted" / "results.json").read_text())
    spanish = json.loads((folder / "features_permuted_es" / "results.json").read_text())
    assert english["extra_data"]["language"] == "en" and spanish["extra_data"]["language"] == "es"
    assert spanish["score"] == english["score"]
    assert [(test["number"], test["score"], test["status"]) for test in spanish["tests"]] == \
        [(test["number"], test["score"], test["status"]) for test in english["tests"]]
    assert all(es["name"] != en["name"] for es, en in zip(spanish["tests"], english["tests"]))
    assert "esperado:" in "".join(test["output"] for test in spanish["tests"])


# -----------------------------------------------------------------------------
# the reference solution


def solution_numbers(markdown: str) -> dict[str, float]:
    return {name: float(value) for name, value in re.findall(r"^\| `([\w.]+)` \| `([-+.\deE]+)` \|$", markdown, re.M)}


def test_course_solution_writes_both_references_with_recomputed_numbers(graded_course):
    from coursegrader.labs.lab00 import embed, recompute
    from minimodel import default_tokenizer

    course, _ = graded_course
    english = (course / LAB.solution).read_text()
    spanish = (course / LAB.solution).with_suffix(".es.md").read_text()
    computed = recompute(embed(default_tokenizer().encode("he work I")))
    expected = {"results_summary.without_PE_equivariance_max_diff": computed["without_pe_max_diff"],
                "results_summary.with_PE_equivariance_max_diff": computed["with_pe_max_diff"]}
    assert solution_numbers(english) == expected == solution_numbers(spanish)
    assert english.startswith("# Lab 00") and spanish.startswith("# Laboratorio 00")
    assert "## Block D — interpret" in english and "**Without PE.**" in english
    assert "## Bloque D — interpretación" in spanish and "**Sin PE.**" in spanish
    for text in (english, spanish):
        assert "### BEGIN" not in text and "Marking scheme" not in text and "run_check" not in text
        assert "X_perm = X[[2, 0, 1]]" in text and "pe = sinusoidal_pe(3, 8)" in text
    for notebook_path in (course / LAB.solution).parent.glob("*.ipynb"):
        notebook = nbformat.read(notebook_path, as_version=4)
        nbformat.validate(notebook)
        assert any(cell.get("outputs") for cell in notebook.cells)  # it ran
    released = [path for folder in ("release", "release-es") for path in (course / folder).rglob("*")]
    assert not [path for path in released if "ref" in path.name or "solution" in path.name.lower()]
