"""The course's translations: every catalog complete and current, texts cut and put back exactly, messages
in the student's language with their numbers and names untouched."""

import re
import shutil

import nbformat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coursegrader.language import catalog as editions
from scripts import catalogs as translations
from coursekit import handover
from coursekit.checks import run
from coursekit.i18n import _, use_language
from coursekit.lab import find_lab
from coursekit.results import collect, problem
from tests.assignment.conftest import ASSIGNMENT, ROOT

LAB = find_lab(ASSIGNMENT)
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


@pytest.mark.parametrize("domain", translations.domains(ROOT), ids=lambda domain: str(domain.locale_dir.relative_to(ROOT)))
def test_every_catalog_translates_exactly_the_messages_of_its_source(domain):
    problems = [problem for problem in translations.check(domain) if problem]
    assert not problems, "\n".join(problem.describe() for problem in problems) + \
        "\n(python scripts/translations.py update, translate, then compile)"


@pytest.mark.parametrize("domain", translations.domains(ROOT), ids=lambda domain: domain.name)
def test_every_translation_keeps_the_placeholders_of_its_message(domain):
    catalog = translations.read_catalog(domain.po_path("es"), "es")
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        for string in strings:
            assert sorted(set(PLACEHOLDER.findall(string))) == sorted(set(PLACEHOLDER.findall(ids[0]))), ids[0]


def test_the_check_finds_a_new_message_and_one_that_translates_nothing(tmp_path):
    source = tmp_path / "source" / ASSIGNMENT
    shutil.copytree(ROOT / "source" / ASSIGNMENT, source)
    domain = translations.LabDomain("release", source / "locale", False, source_folder=source, notebook="demo")
    catalog = translations.read_catalog(domain.po_path("es"), "es")
    for message in catalog:
        if message.id:
            message.string = f"ES {message.id}"  # every message translated, as a translator leaves it
    domain.po_path("es").write_bytes(translations.po_bytes(catalog))
    assert not any(translations.check(domain))
    notebook = nbformat.read(source / "demo.ipynb", as_version=4)
    intro = notebook.cells[0]
    old_block = editions.markdown_messages(intro.source)[-1]
    intro.source = intro.source.replace(old_block, "A sentence no one has translated yet.")
    nbformat.write(notebook, source / "demo.ipynb")
    [found] = translations.check(domain)
    assert found.untranslated == ["A sentence no one has translated yet."]
    assert found.obsolete == [old_block]
    translations.update(domain)  # what scripts/translations.py update does: new message in, old one out
    [after] = translations.check(domain)
    assert after.untranslated == ["A sentence no one has translated yet."] and after.obsolete == []
    assert editions.Translator(source, "es")(intro.source.split("\n\n")[0]).startswith("ES ")


MARKDOWN = st.lists(st.sampled_from([
    "# A heading", "Some *text* with `code`.", "", "", "- a list\n- of items", "| a | b |\n|---|---|\n| 1 | 2 |",
    "```json\n{\n\n  \"a\": 1\n}\n```", "### BEGIN MARK SCHEME\nsecret scheme\n\nmore secret\n### END MARK SCHEME",
    "### BEGIN SOLUTION", "### END SOLUTION", "  indented line", "~~~\nfenced\n\n~~~"]), max_size=12)


@given(MARKDOWN)
def test_markdown_cut_into_blocks_joins_back_to_the_same_text(parts):
    text = "\n".join(parts)
    assert editions.translate_markdown(text, lambda message: message) == text
    assert all("secret" not in message for message in editions.markdown_messages(text))
    upper = editions.translate_markdown(text, str.upper)
    assert upper.count("\n") == text.count("\n")


def test_code_keeps_its_code_and_gets_its_comments_translated():
    source = 'x = "# not a comment"  # the input\n# TODO do it\n### BEGIN SOLUTION\ny = x  # (3, 8)\nset_language("en")'
    translated = editions.translate_code(source, lambda message: f"<{message}>", "es")
    assert translated == ('x = "# not a comment"  # <the input>\n# <TODO do it>\n### BEGIN SOLUTION\ny = x  # (3, 8)\n'
                          'set_language("es")')
    assert editions.code_messages(source) == ["the input", "TODO do it"]


def lab_results(**namespace):
    from minimodel import Embedding, MultiHeadAttention, default_tokenizer

    tokenizer = default_tokenizer()
    token_ids = tokenizer.encode("he work I")
    X = Embedding(tokenizer.vocab_size, 8, seed=0)(token_ids)
    values = {"token_ids": token_ids, "X": X, "mha": MultiHeadAttention(d_model=8, n_heads=1, seed=0), **namespace}
    values = {name: value(X) if callable(value) else value for name, value in values.items()}
    return handover.round_trip(collect(values, ROOT, LAB.results), LAB.results)


@pytest.mark.parametrize("grade_id, namespace", [
    ("test_block_b_x_perm", {"X_perm": lambda X: X}),
    ("test_block_b_x_perm", {"X_perm": lambda X: X[:, [2, 0, 1]]}),
    ("test_block_b_x_perm", {"X_perm": lambda X: X[[1, 2, 0]]}),
    ("test_block_c_pe", {"pe": lambda X: np.zeros((3, 8))}),
    ("test_block_c_pe", {"pe": lambda X: np.zeros((8, 3))}),
    ("test_block_a_token_ids", {"token_ids": [1, 2]}),
])
def test_a_failure_reads_in_spanish_with_the_same_names_and_numbers(grade_id, namespace):
    check = LAB.self_checks[grade_id]
    results = lab_results(**namespace)
    english = run(check, results)
    with use_language("es"):
        spanish = run(check, results)
    assert not english.passed and not spanish.passed
    assert "expected:" in english.message and "esperado:" in spanish.message and "pista:" in spanish.message
    assert spanish.message != english.message
    numbers_and_names = re.compile(r"`[^`]+`|\[[\d, ]+\]|\(\d+, \d+\)|\d+(?:\.\d+)?(?:e-?\d+)?")
    assert sorted(numbers_and_names.findall(spanish.message)) == sorted(numbers_and_names.findall(english.message))


def test_a_problem_read_in_the_kernel_is_rendered_in_the_readers_language():
    missing = problem("{filename} is not a regular file", filename="manifest.json")
    assert missing.reason == "manifest.json is not a regular file"
    with use_language("es"):
        assert missing.reason != "manifest.json is not a regular file" and "manifest.json" in missing.reason
    forged = handover.decode(*handover.encode(collect({}, ROOT, LAB.results)), LAB.results)
    forged.values["X"] = problem("{0.__class__} {filename}", filename="x")  # not a known message: shown as it is
    assert forged.values["X"].reason == "{0.__class__} {filename}"


def test_titles_of_every_check_and_block_are_translated():
    from coursegrader.labs import grading_checks

    with use_language("es"):
        for check in grading_checks(LAB):
            assert _(check.title) != check.title, check.grade_id
        for title in LAB.blocks.values():
            assert _(title) != title or title == "PE"
        assert _(LAB.title).startswith("Laboratorio 00")
